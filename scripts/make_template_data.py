"""Deterministic generator for the datasets bundled with the project templates.

Owns the content of ``src/arkor/templates/{triage,translate,redaction}/data/{train,eval}.jsonl``.
Every file is chat JSONL (one ``{"messages": [system, user, assistant]}`` conversation per line)
with one fixed system prompt per template and a compact JSON answer from the assistant.

Each template draws from a seeded ``random.Random`` (string seeds are stable across Python runs and
``PYTHONHASHSEED``), so running this script again reproduces the committed files byte for byte.
Some phrasings (ticket templates, urgency cues, phrase-bank sentences, redaction templates) are
reserved for the eval split only, so the held-out set measures generalisation and not recall.

Usage:
    python scripts/make_template_data.py                 # rewrite the files in src/arkor/templates
    python scripts/make_template_data.py --out-root DIR  # write DIR/<template>/data/*.jsonl
    python scripts/make_template_data.py --check         # exit 1 if the committed files are stale
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path

from arkor.templates.scoring import TRANSLATE_LANGUAGES, TRIAGE_CATEGORIES, TRIAGE_URGENCIES

DEFAULT_OUT_ROOT = Path(__file__).resolve().parent.parent / "src" / "arkor" / "templates"
TRAIN_ROWS = {"triage": 900, "translate": 720, "redaction": 720}
EVAL_ROWS = 60

# Short on purpose: the system prompt is forward compute on every training row and every request
# (7 tokens each instead of 19-29: about a fifth fewer tokens per triage row), and after fine-tuning
# the answer's fields come from the training answers, not from the prompt naming them.
SYSTEM_PROMPTS = {
    "triage": "Triage this ticket as JSON.",
    "translate": "Translate to English as JSON.",
    "redaction": "Redact personal data as JSON.",
}


def to_json(obj: object) -> str:
    """Compact JSON: every token of the answer costs training time on a CPU."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def chat_row(template: str, user_text: str, answer: dict) -> dict:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPTS[template]},
            {"role": "user", "content": user_text},
            {"role": "assistant", "content": to_json(answer)},
        ]
    }


def add_typo(rng: random.Random, text: str) -> str:
    """Swap two adjacent letters inside one longer word, as hurried customers do."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


# --------------------------------------------------------------------------------------------
# triage
# --------------------------------------------------------------------------------------------
# Each intent: (category, next_action, train templates, eval-only templates). A template is
# (ticket text, summary); both may use the slots filled in by `triage_slots`.
TRIAGE_INTENTS: dict[str, tuple[str, str, list[tuple[str, str]], list[tuple[str, str]]]] = {
    "double_charge": (
        "billing",
        "refund",
        [
            (
                "I was charged twice for my {plan} this month. Please refund the extra {amount}.",
                "Charged twice for {plan}",
            ),
            ("My card got billed two times for the {plan} ({amount} each).", "Double charge on {plan}"),
            ("why do I see 2 charges of {amount} on my statement for {plan}??", "Duplicate {amount} charge"),
            ("There's a duplicate payment of {amount} on my account for the {plan}.", "Duplicate payment for {plan}"),
        ],
        [("Your system took {amount} from me twice for {plan}. I only subscribed once.", "Charged twice for {plan}")],
    ),
    "refund_cancel": (
        "billing",
        "refund",
        [
            (
                "I cancelled my {plan} last week but still got charged {amount}. I want my money back.",
                "Charged after cancelling {plan}",
            ),
            ("Please refund the {amount} renewal, I did not mean to renew the {plan}.", "Unwanted {plan} renewal"),
            (
                "I downgraded yesterday but you charged me {amount} for the {plan} anyway. Refund please.",
                "Charged {amount} after downgrade",
            ),
        ],
        [
            (
                "The {plan} auto-renewed for {amount} after I cancelled. Can that be reversed?",
                "Renewal charged after cancel",
            )
        ],
    ),
    "invoice": (
        "billing",
        "reply_with_docs",
        [
            ("Where can I download the invoice for my {plan} payment?", "Asks where to find invoice"),
            ("I need a receipt with our VAT number for the {amount} charge.", "Needs VAT receipt"),
            ("How do I change the billing email that gets our invoices?", "Change billing email"),
        ],
        [("Our accountant needs last month's invoice. Where do I find it?", "Asks where to find invoice")],
    ),
    "pricing": (
        "billing",
        "forward_to_sales",
        [
            (
                "We want to move {seats} people to the {plan}. Is there a volume discount?",
                "Volume discount for {seats} seats",
            ),
            ("Can we get a quote for {seats} seats on an annual contract?", "Quote for {seats} seats"),
            ("What would the {plan} cost for a team of {seats}? We'd pay yearly.", "Pricing for {seats} seats"),
        ],
        [("Our company is growing to {seats} users, can someone send pricing options?", "Pricing for {seats} users")],
    ),
    "crash": (
        "bug",
        "escalate_engineering",
        [
            ("{App} crashes every time I try to {action}.", "{App} crashes on {noun}"),
            ("When I {action} in {app} it closes by itself.", "{App} closes on {noun}"),
            ("Getting an error 500 when I {action} on {app}.", "Error 500 on {noun}"),
            ("{App} freezes and then shuts down whenever I {action}. Reinstalled already.", "{App} freezes on {noun}"),
        ],
        [("Tried to {action} on {app} and got a blank screen, then it quit.", "{App} quits on {noun}")],
    ),
    "data_loss": (
        "bug",
        "escalate_engineering",
        [
            ("Since the last update my saved work disappears from {app}.", "Saved work lost in {app}"),
            ("{App} says 'sync failed' and my changes from today are gone.", "Sync failure loses changes"),
            ("Files I uploaded yesterday are missing in {app}.", "Uploaded files missing"),
        ],
        [("After updating {app}, half of my projects vanished.", "Projects lost after update")],
    ),
    "locked_out": (
        "account",
        "reset_password",
        [
            ("I forgot my password and the reset email never arrives.", "Password reset email missing"),
            ("Can't log in, it says my password is wrong but I'm sure it's right.", "Password rejected at login"),
            ("My account got locked after too many login attempts.", "Account locked after attempts"),
            ("how do i get back into my account? lost my password", "Lost password"),
        ],
        [("The login page keeps rejecting my password since this morning.", "Password rejected at login")],
    ),
    "two_factor": (
        "account",
        "reset_password",
        [
            ("I got a new phone and lost my two-factor codes. Can't sign in.", "Lost 2FA codes"),
            ("My authenticator app was wiped, now I can't log in.", "Authenticator app wiped"),
        ],
        [("Lost my phone with the 2FA app, please help me get access again.", "Lost 2FA device")],
    ),
    "account_settings": (
        "account",
        "reply_with_docs",
        [
            ("How do I change the email address on my account?", "Change account email"),
            ("I want to delete my account and all my data. How?", "Delete account"),
            ("Can I rename my workspace without losing anything?", "Rename workspace"),
        ],
        [("Is it possible to transfer my account to a colleague?", "Transfer account ownership")],
    ),
    "product_feature": (
        "feature_request",
        "reply_with_docs",
        [
            ("It would be great if you added {feature}.", "Request: {feature}"),
            ("Any plans to support {feature}? I'd use it daily.", "Request: {feature}"),
            ("Feature idea: {feature}. Would make my life easier.", "Request: {feature}"),
        ],
        [("Please consider building {feature}, the current workflow is clunky.", "Request: {feature}")],
    ),
    "enterprise_feature": (
        "feature_request",
        "forward_to_sales",
        [
            (
                "Does your enterprise tier include {efeature}? We need it before rolling out to {seats} people.",
                "Needs {efeature} for rollout",
            ),
            ("We'd need {efeature} to sign a contract. Is that available?", "Contract needs {efeature}"),
            ("Our security team requires {efeature}. Can you offer that?", "Security requires {efeature}"),
        ],
        [("Before we buy we need to know if {efeature} is supported.", "Asks about {efeature}")],
    ),
    "where_is_order": (
        "shipping",
        "track_package",
        [
            ("My order {order} hasn't arrived yet, it's been {days} days.", "Order {order} not arrived"),
            ("Where is my package? Order {order}, {item}.", "Package {order} missing"),
            ("Tracking for {order} hasn't updated in {days} days.", "Tracking stuck for {order}"),
            ("still waiting on my {item}, order {order}. any update?", "Waiting on order {order}"),
        ],
        [("The courier says delivered but I never got order {order}.", "Order {order} not received")],
    ),
    "damaged": (
        "shipping",
        "refund",
        [
            ("My {item} arrived broken. Order {order}.", "{Item} arrived broken"),
            ("The box was crushed and the {item} inside is damaged.", "{Item} damaged in transit"),
            ("Received the wrong item for order {order}, I ordered the {item}.", "Wrong item in {order}"),
        ],
        [("Order {order} came today but the {item} is cracked.", "{Item} arrived cracked")],
    ),
    "general_question": (
        "other",
        "reply_with_docs",
        [
            ("Do you have a public API I can use?", "Asks about API"),
            ("What are your support hours?", "Asks about support hours"),
            ("Is there a status page I can follow?", "Asks about status page"),
        ],
        [("Is there a user guide in Spanish?", "Asks for Spanish guide")],
    ),
    "partnership": (
        "other",
        "forward_to_sales",
        [
            ("I run a small agency and would like to partner with you.", "Partnership inquiry"),
            ("We'd like to resell your product in {country}.", "Reseller inquiry for {country}"),
        ],
        [("Interested in an affiliate program, who should I talk to?", "Affiliate program inquiry")],
    ),
}
# Urgency is carried by a cue sentence (or its absence); the last entry of each list is eval-only.
URGENCY_CUES = {
    "high": [
        "This is urgent!",
        "Please fix ASAP.",
        "Our whole team is blocked.",
        "We have a client demo in an hour.",
        "This is costing us sales every minute.",
        "Need this resolved today.",
        "Nobody in our company can work.",
        "I'm losing customers over this.",
    ],
    "low": [
        "No rush.",
        "Whenever you have time.",
        "Not urgent, just curious.",
        "Minor thing, no hurry.",
        "Low priority on my side.",
        "Take your time with this one.",
    ],
    "medium": [
        "",
        "",
        "Thanks.",
        "Could you look into it?",
        "Please let me know.",
        "Appreciate the help.",
        "Waiting for your reply.",
    ],
}
# Train-only paraphrases: more ways to say each intent, so that one pass over the data teaches what
# an intent means and not one wording of it. Only the train split draws from them; the eval split's
# seen half keeps to the templates in TRIAGE_INTENTS, so eval.jsonl stays the same file.
TRIAGE_PARAPHRASES: dict[str, list[tuple[str, str]]] = {
    "double_charge": [
        ("Two identical charges of {amount} for the {plan} showed up on my card.", "Two identical {plan} charges"),
        ("billed twice?? {amount} + {amount} for one {plan}", "Billed twice for {plan}"),
        (
            "Hello, my bank shows the {plan} payment of {amount} went through two times. Only one was mine.",
            "Payment taken two times",
        ),
        ("I paid for the {plan} once but you took {amount} again the same day.", "Second {amount} charge same day"),
        ("Double payment for {plan}, please return one of them.", "Double payment for {plan}"),
    ],
    "refund_cancel": [
        ("My subscription was supposed to end but I got billed {amount} again.", "Billed after subscription end"),
        (
            "I closed my subscription but a {amount} payment still went out. I'd like that undone.",
            "Charged after closing",
        ),
        ("Charged {amount} for a {plan} I no longer use. I'd like a refund.", "Refund for unused {plan}"),
        ("i never agreed to the {plan} upgrade, money back pls", "Unwanted {plan} upgrade"),
        ("My trial ended and I was billed {amount} without warning. Please refund it.", "Billed after trial"),
    ],
    "invoice": [
        ("Could you send me a copy of the invoice for the {amount} payment?", "Needs invoice copy"),
        ("Is there a way to get invoices with our company name on them?", "Company name on invoices"),
        ("Where do I see my billing history for the {plan}?", "Asks for billing history"),
        ("need a pdf receipt for {amount} for my expense report", "Needs PDF receipt"),
        ("How can I add a purchase order number to my invoices?", "PO number on invoices"),
    ],
    "pricing": [
        ("How much would {seats} licenses of the {plan} cost per year?", "Cost of {seats} licenses"),
        ("Do you offer bulk pricing for {seats} users?", "Bulk pricing for {seats} users"),
        ("We're a team of {seats}. What's the best price you can give us?", "Price for {seats} people"),
        ("I'd like to talk to someone about a company-wide plan for {seats} staff.", "Company-wide plan"),
        ("price for {seats} seats billed annually?", "Annual price for {seats} seats"),
    ],
    "crash": [
        ("Every time I {action} in {app}, the app just closes.", "{App} closes on {noun}"),
        ("{App} keeps crashing on startup since this week.", "{App} crashes on startup"),
        ("I get 'something went wrong' and {app} stops responding when I {action}.", "{App} unresponsive on {noun}"),
        ("{app} hangs forever when i try to {action}", "{App} hangs on {noun}"),
        ("The button to {action} throws an error in {app} and nothing happens.", "Error on {noun}"),
    ],
    "data_loss": [
        ("All my notes from last week are gone from {app}.", "Notes missing in {app}"),
        ("I saved my edits in {app} but they were not there when I came back.", "Edits not saved"),
        ("{App} deleted my documents after it restarted.", "Documents deleted on restart"),
        ("lost everything i did today in {app}, it just reverted", "Work reverted in {app}"),
        ("Some of my uploads disappeared from {app} overnight.", "Uploads disappeared"),
    ],
    "locked_out": [
        ("The password reset link says it has expired every time I click it.", "Reset link expired"),
        ("I can't sign in anymore, it keeps saying invalid credentials.", "Invalid credentials at sign-in"),
        ("cant get into my account, reset link doesnt work", "Reset link not working"),
        ("My account is blocked and I don't know my password.", "Account blocked"),
        ("I'm unable to log in since I changed my password yesterday.", "Login fails after change"),
    ],
    "two_factor": [
        ("My two-factor codes are not accepted anymore and I can't get in.", "2FA codes rejected"),
        ("I reset my phone and the authenticator is empty. How do I log in?", "Authenticator reset"),
        ("The SMS verification code never comes, so I'm stuck at login.", "No SMS code"),
        ("my verification app stopped generating codes after an update", "Authenticator codes broken"),
    ],
    "account_settings": [
        ("How can I update the name shown on my profile?", "Update profile name"),
        ("Where do I change my username?", "Change username"),
        ("Can I merge two accounts that I created by mistake?", "Merge accounts"),
        ("how do i remove a teammate from my workspace", "Remove teammate"),
        ("I'd like to change the language of my account to French.", "Change account language"),
    ],
    "product_feature": [
        ("Could you add {feature}? It's the one thing I miss.", "Request: {feature}"),
        ("I would love to see {feature} in a future release.", "Request: {feature}"),
        ("Suggestion: please add {feature} to {app}.", "Request: {feature}"),
        ("{feature} would be a great addition", "Request: {feature}"),
        ("Is {feature} on your roadmap? Many of us would use it.", "Request: {feature}"),
    ],
    "enterprise_feature": [
        ("Do you support {efeature}? Our compliance team insists on it.", "Compliance asks for {efeature}"),
        ("We can only buy for {seats} users if you offer {efeature}.", "Purchase depends on {efeature}"),
        ("Is {efeature} part of an enterprise plan? We're evaluating vendors.", "Evaluating: {efeature}"),
        ("our procurement requires {efeature}, do you have it?", "Procurement needs {efeature}"),
        ("Can your business plan come with {efeature} for our company?", "Business plan with {efeature}"),
    ],
    "where_is_order": [
        ("Order {order} was supposed to be here {days} days ago. Where is it?", "Order {order} late"),
        ("The tracking link for {order} shows nothing at all.", "No tracking for {order}"),
        ("When will my {item} ship? Order {order}.", "Shipping date for {order}"),
        ("package {order} stuck in transit for {days} days", "Package {order} stuck"),
        ("I still have not received my {item} from order {order}.", "Still waiting on {item}"),
    ],
    "damaged": [
        ("The {item} from order {order} doesn't work out of the box.", "{Item} broken on arrival"),
        ("Part of the {item} was missing when I opened the package.", "{Item} missing parts"),
        ("Got my {item} today, it's scratched and dented. Order {order}.", "{Item} arrived dented"),
        ("wrong size {item} in my package, order {order}", "Wrong {item} in {order}"),
        ("The {item} I received is defective, I'd like my money back.", "Defective {item}"),
    ],
    "general_question": [
        ("Do you have an uptime status page?", "Asks about status page"),
        ("Which browsers do you support?", "Asks about browsers"),
        ("Do you have video tutorials?", "Asks about tutorials"),
        ("is there a mobile version of the app?", "Asks about mobile app"),
        ("How long do you keep deleted files?", "Asks about file retention"),
    ],
    "partnership": [
        ("Do you have a referral program for consultants?", "Referral program inquiry"),
        ("We build integrations and want to become a technology partner.", "Technology partner inquiry"),
        ("Can we distribute your software to our clients in {country}?", "Distribution in {country}"),
        ("who handles co-marketing deals? we'd like to work together", "Co-marketing inquiry"),
        (
            "Our firm wants to be a reseller in {country}. Please connect us with the right person.",
            "Reseller inquiry for {country}",
        ),
    ],
}
# Train-only urgency cues, for the same reason: many ways to say "now" and "no hurry".
URGENCY_PARAPHRASES = {
    "high": [
        "We need help immediately.",
        "Production is down for us.",
        "Please respond right away.",
        "Our launch is tomorrow morning.",
        "Critical issue!",
        "Every hour of delay hurts us.",
        "We are completely stuck.",
        "This is an emergency.",
        "We can't ship until this is fixed.",
        "Please treat this as top priority.",
    ],
    "low": [
        "It can wait.",
        "Not time-sensitive.",
        "Only when you get around to it.",
        "No pressure.",
        "This can wait until next week.",
        "Not a big deal.",
        "Small question, not important.",
        "Not in a hurry.",
        "Answer whenever convenient.",
        "It's not blocking anything.",
    ],
    "medium": [
        "",  # no cue at all stays about as common as in the core list (2 rows in 7)
        "",
        "",
        "Thanks in advance.",
        "Any help is appreciated.",
        "Let me know what you find.",
        "Grateful for any pointers.",
        "Hope you can help.",
        "What do you suggest?",
        "Let me know the next steps.",
    ],
}
PLANS = ["Pro plan", "Team plan", "Starter plan", "Business plan", "Premium plan"]
APPS = [
    "the mobile app",
    "the iOS app",
    "the Android app",
    "the web dashboard",
    "the desktop app",
    "the browser extension",
]
ACTIONS = [
    ("export a report", "report export"),
    ("upload a file", "file upload"),
    ("open settings", "settings"),
    ("sync my calendar", "calendar sync"),
    ("save a draft", "saving drafts"),
    ("share a link", "link sharing"),
    ("print an invoice", "invoice printing"),
    ("add a teammate", "adding teammates"),
]
FEATURES = [
    "dark mode",
    "export to CSV",
    "a calendar view",
    "keyboard shortcuts",
    "offline mode",
    "bulk editing",
    "recurring tasks",
    "a Slack integration",
]
ENTERPRISE_FEATURES = [
    "SSO with Okta",
    "audit logs",
    "a custom SLA",
    "on-premise hosting",
    "SAML login",
    "EU data residency",
]
ITEMS = [
    "headphones",
    "desk lamp",
    "running shoes",
    "phone case",
    "coffee grinder",
    "blender",
    "backpack",
    "keyboard",
    "monitor stand",
]
COUNTRIES = ["Canada", "Brazil", "Germany", "Japan", "Australia"]
FIRST_NAMES = [
    "Maria",
    "John",
    "Aisha",
    "Wei",
    "Lukas",
    "Sofia",
    "Tom",
    "Priya",
    "Olga",
    "Kenji",
    "Emma",
    "Carlos",
    "Fatima",
    "Liam",
    "Noah",
    "Hannah",
    "Diego",
    "Yuki",
    "Grace",
    "Omar",
]
LAST_NAMES = [
    "Lopez",
    "Carter",
    "Khan",
    "Chen",
    "Becker",
    "Rossi",
    "Baker",
    "Patel",
    "Ivanova",
    "Sato",
    "Dubois",
    "Mendes",
    "Haddad",
    "Byrne",
    "Schmidt",
    "Berg",
    "Alvarez",
    "Tanaka",
    "Kim",
    "Farouk",
]
GREETINGS = ["", "", "Hi!", "Hello.", "Hey team!", "Good morning.", "Hi support,", "Hello support team."]


def triage_slots(rng: random.Random) -> dict[str, str]:
    app = rng.choice(APPS)
    action, noun = rng.choice(ACTIONS)
    item = rng.choice(ITEMS)
    return {
        "plan": rng.choice(PLANS),
        "amount": f"${rng.choice([9, 12, 19, 29, 49, 79, 99, 149])}",
        "seats": str(rng.choice([12, 25, 40, 60, 150, 300])),
        "app": app,
        "App": app[0].upper() + app[1:],
        "action": action,
        "noun": noun,
        "feature": rng.choice(FEATURES),
        "efeature": rng.choice(ENTERPRISE_FEATURES),
        "order": f"#{rng.randrange(10000, 99999)}",
        "days": str(rng.choice([5, 8, 10, 12, 14, 20])),
        "item": item,
        "Item": item[0].upper() + item[1:],
        "country": rng.choice(COUNTRIES),
    }


def make_triage_row(rng: random.Random, *, eval_split: bool, index: int) -> dict:
    # The eval split cycles through the categories so that every class is measured.
    category = TRIAGE_CATEGORIES[index % len(TRIAGE_CATEGORIES)] if eval_split else rng.choice(TRIAGE_CATEGORIES)
    intent = rng.choice([k for k, v in TRIAGE_INTENTS.items() if v[0] == category])
    _, next_action, train_templates, eval_templates = TRIAGE_INTENTS[intent]
    unseen = eval_split and rng.random() < 0.5
    if eval_split:
        text, summary = rng.choice(eval_templates if unseen else train_templates)
    else:
        text, summary = rng.choice(train_templates + TRIAGE_PARAPHRASES[intent])
    urgency = rng.choices(TRIAGE_URGENCIES, weights=(25, 40, 35))[0]
    cues = URGENCY_CUES[urgency]
    cue = rng.choice(cues if eval_split else cues[:-1] + URGENCY_PARAPHRASES[urgency])
    slots = triage_slots(rng)
    body = text.format(**slots)
    if rng.random() < 0.15:
        body = add_typo(rng, body)
    parts = [rng.choice(GREETINGS)]
    if urgency == "high" and rng.random() < 0.3:
        parts = ["URGENT:"]
    parts += [cue, body] if cue and rng.random() < 0.3 else [body, cue]
    if rng.random() < 0.4:
        first = rng.choice(FIRST_NAMES)
        parts.append(
            rng.choice([f"Thanks, {first}", f"- {first}", f"Best, {first} {rng.choice(LAST_NAMES)}", "Cheers"])
        )
    ticket = " ".join(p for p in parts if p)
    if rng.random() < 0.12:
        ticket = ticket.lower()
    answer = {"category": category, "urgency": urgency, "summary": summary.format(**slots), "next_action": next_action}
    return chat_row("triage", ticket, answer)


# --------------------------------------------------------------------------------------------
# translate
# --------------------------------------------------------------------------------------------
LANGS = TRANSLATE_LANGUAGES
# English first, then one translation per language in LANGS order. Slots: {num}, {day}, {amt}.
PHRASES: list[tuple[str, ...]] = [
    (
        "My order has not arrived yet.",
        "Mi pedido todavía no ha llegado.",
        "Ma commande n'est pas encore arrivée.",
        "Meine Bestellung ist noch nicht angekommen.",
        "Il mio ordine non è ancora arrivato.",
        "O meu pedido ainda não chegou.",
        "Mijn bestelling is nog niet aangekomen.",
        "Min beställning har inte kommit än.",
        "Pesanan saya belum sampai.",
        "Chuumon ga mada todoite imasen.",
    ),
    (
        "I want to cancel my subscription.",
        "Quiero cancelar mi suscripción.",
        "Je veux annuler mon abonnement.",
        "Ich möchte mein Abonnement kündigen.",
        "Voglio annullare il mio abbonamento.",
        "Quero cancelar a minha assinatura.",
        "Ik wil mijn abonnement opzeggen.",
        "Jag vill säga upp min prenumeration.",
        "Saya ingin membatalkan langganan saya.",
        "Sabusukuripushon o kaiyaku shitai desu.",
    ),
    (
        "I was charged twice.",
        "Me cobraron dos veces.",
        "J'ai été débité deux fois.",
        "Mir wurde doppelt abgebucht.",
        "Mi hanno addebitato due volte.",
        "Fui cobrado duas vezes.",
        "Mij is twee keer geld afgeschreven.",
        "Jag har debiterats två gånger.",
        "Saya ditagih dua kali.",
        "Nido seikyuu saremashita.",
    ),
    (
        "The product arrived damaged.",
        "El producto llegó dañado.",
        "Le produit est arrivé endommagé.",
        "Das Produkt ist beschädigt angekommen.",
        "Il prodotto è arrivato danneggiato.",
        "O produto chegou danificado.",
        "Het product is beschadigd aangekomen.",
        "Produkten kom fram skadad.",
        "Produknya datang dalam keadaan rusak.",
        "Shouhin ga kowarete todokimashita.",
    ),
    (
        "I can't log in to my account.",
        "No puedo iniciar sesión en mi cuenta.",
        "Je n'arrive pas à me connecter à mon compte.",
        "Ich kann mich nicht in mein Konto einloggen.",
        "Non riesco ad accedere al mio account.",
        "Não consigo entrar na minha conta.",
        "Ik kan niet inloggen op mijn account.",
        "Jag kan inte logga in på mitt konto.",
        "Saya tidak bisa masuk ke akun saya.",
        "Akaunto ni roguin dekimasen.",
    ),
    (
        "I forgot my password.",
        "Olvidé mi contraseña.",
        "J'ai oublié mon mot de passe.",
        "Ich habe mein Passwort vergessen.",
        "Ho dimenticato la mia password.",
        "Esqueci a minha senha.",
        "Ik ben mijn wachtwoord vergeten.",
        "Jag har glömt mitt lösenord.",
        "Saya lupa kata sandi saya.",
        "Pasuwaado o wasuremashita.",
    ),
    (
        "Can you help me, please?",
        "¿Me pueden ayudar, por favor?",
        "Pouvez-vous m'aider, s'il vous plaît ?",
        "Können Sie mir bitte helfen?",
        "Potete aiutarmi, per favore?",
        "Podem ajudar-me, por favor?",
        "Kunt u mij alstublieft helpen?",
        "Kan ni hjälpa mig, tack?",
        "Bisakah Anda membantu saya?",
        "Tasukete itadakemasu ka?",
    ),
    (
        "I would like a refund.",
        "Quisiera un reembolso.",
        "Je voudrais un remboursement.",
        "Ich hätte gern eine Rückerstattung.",
        "Vorrei un rimborso.",
        "Gostaria de um reembolso.",
        "Ik wil graag mijn geld terug.",
        "Jag vill ha pengarna tillbaka.",
        "Saya ingin pengembalian dana.",
        "Henkin o onegai shimasu.",
    ),
    (
        "The app crashes when I open it.",
        "La aplicación se cierra cuando la abro.",
        "L'application plante quand je l'ouvre.",
        "Die App stürzt ab, wenn ich sie öffne.",
        "L'app si blocca quando la apro.",
        "O aplicativo trava quando eu o abro.",
        "De app crasht als ik hem open.",
        "Appen kraschar när jag öppnar den.",
        "Aplikasinya macet saat saya buka.",
        "Apuri o hiraku to kurasshu shimasu.",
    ),
    (
        "Where is my package?",
        "¿Dónde está mi paquete?",
        "Où est mon colis ?",
        "Wo ist mein Paket?",
        "Dov'è il mio pacco?",
        "Onde está o meu pacote?",
        "Waar is mijn pakket?",
        "Var är mitt paket?",
        "Di mana paket saya?",
        "Watashi no nimotsu wa doko desu ka?",
    ),
    (
        "I received the wrong size.",
        "Recibí la talla equivocada.",
        "J'ai reçu la mauvaise taille.",
        "Ich habe die falsche Größe bekommen.",
        "Ho ricevuto la taglia sbagliata.",
        "Recebi o tamanho errado.",
        "Ik heb de verkeerde maat ontvangen.",
        "Jag fick fel storlek.",
        "Saya menerima ukuran yang salah.",
        "Chigau saizu ga todokimashita.",
    ),
    (
        "How can I change my shipping address?",
        "¿Cómo puedo cambiar mi dirección de envío?",
        "Comment puis-je modifier mon adresse de livraison ?",
        "Wie kann ich meine Lieferadresse ändern?",
        "Come posso cambiare il mio indirizzo di spedizione?",
        "Como posso alterar o meu endereço de entrega?",
        "Hoe kan ik mijn verzendadres wijzigen?",
        "Hur kan jag ändra min leveransadress?",
        "Bagaimana cara mengubah alamat pengiriman saya?",
        "Haisousaki no juusho wa dou henkou dekimasu ka?",
    ),
    (
        "Thank you for your help.",
        "Gracias por su ayuda.",
        "Merci pour votre aide.",
        "Vielen Dank für Ihre Hilfe.",
        "Grazie per il vostro aiuto.",
        "Obrigado pela sua ajuda.",
        "Bedankt voor uw hulp.",
        "Tack för er hjälp.",
        "Terima kasih atas bantuan Anda.",
        "Tasukete kurete arigatou gozaimasu.",
    ),
    (
        "The invoice is wrong.",
        "La factura está mal.",
        "La facture est incorrecte.",
        "Die Rechnung ist falsch.",
        "La fattura è sbagliata.",
        "A fatura está errada.",
        "De factuur klopt niet.",
        "Fakturan är fel.",
        "Tagihannya salah.",
        "Seikyuusho ga machigatte imasu.",
    ),
    (
        "I need to speak with a manager.",
        "Necesito hablar con un gerente.",
        "J'ai besoin de parler à un responsable.",
        "Ich muss mit einem Vorgesetzten sprechen.",
        "Devo parlare con un responsabile.",
        "Preciso de falar com um gerente.",
        "Ik moet een manager spreken.",
        "Jag behöver prata med en chef.",
        "Saya perlu berbicara dengan manajer.",
        "Sekininsha to hanashitai desu.",
    ),
    (
        "The delivery is very late.",
        "La entrega llega muy tarde.",
        "La livraison a beaucoup de retard.",
        "Die Lieferung ist sehr spät.",
        "La consegna è molto in ritardo.",
        "A entrega está muito atrasada.",
        "De levering is erg laat.",
        "Leveransen är mycket sen.",
        "Pengirimannya sangat terlambat.",
        "Haisou ga totemo okurete imasu.",
    ),
    (
        "My card was declined.",
        "Mi tarjeta fue rechazada.",
        "Ma carte a été refusée.",
        "Meine Karte wurde abgelehnt.",
        "La mia carta è stata rifiutata.",
        "O meu cartão foi recusado.",
        "Mijn kaart werd geweigerd.",
        "Mitt kort nekades.",
        "Kartu saya ditolak.",
        "Kaado ga kyohi saremashita.",
    ),
    (
        "I did not receive the confirmation email.",
        "No recibí el correo de confirmación.",
        "Je n'ai pas reçu l'e-mail de confirmation.",
        "Ich habe die Bestätigungs-E-Mail nicht erhalten.",
        "Non ho ricevuto l'email di conferma.",
        "Não recebi o e-mail de confirmação.",
        "Ik heb de bevestigingsmail niet ontvangen.",
        "Jag har inte fått bekräftelsemejlet.",
        "Saya tidak menerima email konfirmasi.",
        "Kakunin meeru ga todoite imasen.",
    ),
    (
        "The price on the website was different.",
        "El precio en la web era diferente.",
        "Le prix sur le site était différent.",
        "Der Preis auf der Webseite war anders.",
        "Il prezzo sul sito era diverso.",
        "O preço no site era diferente.",
        "De prijs op de website was anders.",
        "Priset på webbplatsen var annorlunda.",
        "Harga di situs web berbeda.",
        "Saito no kakaku wa chigaimashita.",
    ),
    (
        "Is this product available in blue?",
        "¿Este producto está disponible en azul?",
        "Ce produit est-il disponible en bleu ?",
        "Gibt es dieses Produkt auch in Blau?",
        "Questo prodotto è disponibile in blu?",
        "Este produto está disponível em azul?",
        "Is dit product ook in het blauw verkrijgbaar?",
        "Finns den här produkten i blått?",
        "Apakah produk ini tersedia dalam warna biru?",
        "Kono shouhin wa ao mo arimasu ka?",
    ),
    (
        "I have been waiting for two weeks.",
        "Llevo dos semanas esperando.",
        "J'attends depuis deux semaines.",
        "Ich warte seit zwei Wochen.",
        "Aspetto da due settimane.",
        "Estou à espera há duas semanas.",
        "Ik wacht al twee weken.",
        "Jag har väntat i två veckor.",
        "Saya sudah menunggu dua minggu.",
        "Nishuukan matte imasu.",
    ),
    (
        "The package was left at the wrong door.",
        "Dejaron el paquete en la puerta equivocada.",
        "Le colis a été déposé à la mauvaise porte.",
        "Das Paket wurde an der falschen Tür abgestellt.",
        "Il pacco è stato lasciato alla porta sbagliata.",
        "O pacote foi deixado na porta errada.",
        "Het pakket is bij de verkeerde deur achtergelaten.",
        "Paketet lämnades vid fel dörr.",
        "Paketnya ditinggalkan di pintu yang salah.",
        "Nimotsu ga chigau doa no mae ni okaremashita.",
    ),
    (
        "I want to update my phone number.",
        "Quiero actualizar mi número de teléfono.",
        "Je veux mettre à jour mon numéro de téléphone.",
        "Ich möchte meine Telefonnummer aktualisieren.",
        "Voglio aggiornare il mio numero di telefono.",
        "Quero atualizar o meu número de telefone.",
        "Ik wil mijn telefoonnummer bijwerken.",
        "Jag vill uppdatera mitt telefonnummer.",
        "Saya ingin memperbarui nomor telepon saya.",
        "Denwa bangou o koushin shitai desu.",
    ),
    (
        "Do you ship to Canada?",
        "¿Hacen envíos a Canadá?",
        "Livrez-vous au Canada ?",
        "Liefern Sie nach Kanada?",
        "Spedite in Canada?",
        "Vocês enviam para o Canadá?",
        "Verzenden jullie naar Canada?",
        "Skickar ni till Kanada?",
        "Apakah Anda mengirim ke Kanada?",
        "Kanada ni hassou shite imasu ka?",
    ),
    (
        "My order number is {num}.",
        "Mi número de pedido es {num}.",
        "Mon numéro de commande est {num}.",
        "Meine Bestellnummer ist {num}.",
        "Il mio numero d'ordine è {num}.",
        "O número do meu pedido é {num}.",
        "Mijn bestelnummer is {num}.",
        "Mitt ordernummer är {num}.",
        "Nomor pesanan saya {num}.",
        "Chuumon bangou wa {num} desu.",
    ),
    (
        "Can I move my appointment to {day}?",
        "¿Puedo cambiar mi cita al {day}?",
        "Puis-je déplacer mon rendez-vous à {day} ?",
        "Kann ich meinen Termin auf {day} verschieben?",
        "Posso spostare il mio appuntamento a {day}?",
        "Posso mudar a minha marcação para {day}?",
        "Kan ik mijn afspraak verzetten naar {day}?",
        "Kan jag flytta min tid till {day}?",
        "Bisakah saya memindahkan janji saya ke hari {day}?",
        "Yoyaku o {day} ni henkou dekimasu ka?",
    ),
    (
        "I paid {amt} euros for this.",
        "Pagué {amt} euros por esto.",
        "J'ai payé {amt} euros pour ça.",
        "Ich habe {amt} Euro dafür bezahlt.",
        "Ho pagato {amt} euro per questo.",
        "Paguei {amt} euros por isto.",
        "Ik heb er {amt} euro voor betaald.",
        "Jag betalade {amt} euro för det här.",
        "Saya membayar {amt} euro untuk ini.",
        "Kore ni {amt} yuuro haraimashita.",
    ),
]
# Held out of training: only the eval split ever shows these sentences.
EVAL_ONLY_PHRASES: list[tuple[str, ...]] = [
    (
        "I want to return this item.",
        "Quiero devolver este artículo.",
        "Je veux retourner cet article.",
        "Ich möchte diesen Artikel zurückgeben.",
        "Voglio restituire questo articolo.",
        "Quero devolver este artigo.",
        "Ik wil dit artikel retourneren.",
        "Jag vill returnera den här varan.",
        "Saya ingin mengembalikan barang ini.",
        "Kono shouhin o henpin shitai desu.",
    ),
    (
        "The website is not loading.",
        "La página web no carga.",
        "Le site ne se charge pas.",
        "Die Webseite lädt nicht.",
        "Il sito non si carica.",
        "O site não carrega.",
        "De website laadt niet.",
        "Webbplatsen laddar inte.",
        "Situsnya tidak bisa dimuat.",
        "Saito ga hyouji saremasen.",
    ),
    (
        "My discount code does not work.",
        "Mi código de descuento no funciona.",
        "Mon code de réduction ne fonctionne pas.",
        "Mein Rabattcode funktioniert nicht.",
        "Il mio codice sconto non funziona.",
        "O meu código de desconto não funciona.",
        "Mijn kortingscode werkt niet.",
        "Min rabattkod fungerar inte.",
        "Kode diskon saya tidak berfungsi.",
        "Waribiki koodo ga tsukaemasen.",
    ),
    (
        "The instructions are missing from the box.",
        "Faltan las instrucciones en la caja.",
        "Les instructions manquent dans la boîte.",
        "In der Verpackung fehlt die Anleitung.",
        "Nella scatola mancano le istruzioni.",
        "Faltam as instruções na caixa.",
        "De handleiding zit niet in de doos.",
        "Instruktionerna saknas i lådan.",
        "Petunjuknya tidak ada di dalam kotak.",
        "Hako ni setsumeisho ga haitte imasen.",
    ),
]
DAYS: dict[str, list[str]] = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi"],
    "de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag"],
    "it": ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì"],
    "pt": ["segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira"],
    "nl": ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag"],
    "sv": ["måndag", "tisdag", "onsdag", "torsdag", "fredag"],
    "id": ["Senin", "Selasa", "Rabu", "Kamis", "Jumat"],
    "ja": ["getsuyoubi", "kayoubi", "suiyoubi", "mokuyoubi", "kinyoubi"],
}


def render_phrase(rng: random.Random, phrase: tuple[str, ...], lang: str) -> tuple[str, str]:
    """Return (source text in `lang`, English) with the same slot values in both."""
    day = rng.randrange(5)
    num, amt = str(rng.randrange(100000, 999999)), str(rng.choice([15, 20, 35, 49, 60, 120]))
    source = phrase[1 + LANGS.index(lang)].format(num=num, amt=amt, day=DAYS[lang][day])
    return source, phrase[0].format(num=num, amt=amt, day=DAYS["en"][day])


def make_translate_row(rng: random.Random, *, eval_split: bool, index: int) -> dict:
    lang = LANGS[index % len(LANGS)] if eval_split else rng.choice(LANGS)
    count = rng.choices((1, 2, 3), weights=(45, 45, 10))[0]
    picked = rng.sample(PHRASES, count)
    if eval_split and rng.random() < 0.5:
        picked[rng.randrange(count)] = rng.choice(EVAL_ONLY_PHRASES)
    rendered = [render_phrase(rng, p, lang) for p in picked]
    source = " ".join(src for src, _ in rendered)
    english = " ".join(en for _, en in rendered)
    return chat_row("translate", source, {"translation": english, "detected_language": lang})


# --------------------------------------------------------------------------------------------
# redaction
# --------------------------------------------------------------------------------------------
PII_SLOTS = ("NAME", "FIRST", "EMAIL", "PHONE", "ADDRESS", "CARD")
REDACTION_TEMPLATES = [
    "Hi, I'm {NAME} and my email is {EMAIL}.",
    "Please call {NAME} at {PHONE} about order {ORDER}.",
    "Ship it to {ADDRESS}, attention {NAME}.",
    "My card {CARD} was charged {AMOUNT} twice.",
    "Contact: {EMAIL}, {PHONE}",
    "{NAME} ({EMAIL}) asked for a refund on {DATE}.",
    "New address for {NAME}: {ADDRESS}. Phone {PHONE}.",
    "Customer {NAME} paid with {CARD}, receipt to {EMAIL}.",
    "Order {ORDER} was delivered on {DATE}, no issues.",
    "Can you update my number to {PHONE}? Thanks, {FIRST}",
    "Reach me at {EMAIL} or {PHONE} after {TIME}.",
    "The invoice should go to {NAME}, {ADDRESS}.",
    "I live at {ADDRESS} and the courier never came.",
    "Please remove card {CARD} from my account.",
    "Meeting with {NAME} and {NAME} moved to {DATE}.",
    "Total was {AMOUNT} for order {ORDER}, paid on {DATE}.",
    "Forwarding from {EMAIL}: please call back on {PHONE}.",
    "Hey {FIRST}, your package for {ADDRESS} is ready.",
    "Billing: {NAME}, card {CARD}, address {ADDRESS}.",
    "{FIRST} says order {ORDER} is stuck since {DATE}.",
    "My email changed from {EMAIL} to {EMAIL}.",
    "Call me on {PHONE}, I'm {NAME}.",
    "Can't log in as {EMAIL} since {DATE}.",
    "Thanks for the quick fix on ticket {ORDER}!",
    "Send the replacement to {NAME} at {ADDRESS}, phone {PHONE}.",
    "Use {CARD} for the renewal, not the old one.",
    "Signed up with {EMAIL} but the code goes to {PHONE}.",
    "The store was closed at {TIME} on {DATE}.",
    "hi its {FIRST}, my new card is {CARD}",
    "Refund of {AMOUNT} went to the wrong card, order {ORDER}.",
]
EVAL_ONLY_REDACTION_TEMPLATES = [
    "Customer {NAME} can be emailed at {EMAIL} or called at {PHONE}.",
    "Please refund {AMOUNT} to card {CARD}; order {ORDER}.",
    "Moved from {ADDRESS} last month, {FIRST} here.",
    "Our call is at {TIME} on {DATE}, see you there.",
    "{NAME} wrote from {EMAIL} about a damaged parcel.",
    "Deliver to {ADDRESS}; if nobody answers ring {PHONE}.",
    "Two accounts, {EMAIL} and {EMAIL}, belong to {NAME}.",
]
EMAIL_DOMAINS = ["gmail.com", "example.com", "outlook.com", "mail.de", "acme.io", "proton.me", "yahoo.fr"]
STREETS = ["Oak", "Maple", "Baker", "Elm", "Harbor", "Mill", "Cedar", "Lake", "Church", "Park"]
STREET_TYPES = ["Street", "Ave", "Road", "Lane", "Blvd"]
CITIES = ["Springfield", "Leeds", "Austin", "Dublin", "Toronto", "Denver", "Bristol", "Portland"]
PHONE_FORMATS = [
    "+1 415 555 {4}",
    "({3}) 555-{4}",
    "020 7946 {4}",
    "+44 7700 900{3}",
    "555-{3}-{4}",
    "+49 30 {3}{4}",
    "06 {2} {2} {2} {2}",
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "June", "July", "Aug", "Sept", "Oct", "Nov", "Dec"]

# Train-only variety for redaction: more sentence shapes, names, phone, address and email formats, so
# that the model learns what personal data looks like rather than this generator's few shapes. Only
# the train split draws from these; the eval split keeps to the pools above, so eval.jsonl is unchanged.
REDACTION_PARAPHRASES = [
    "Dear support, {NAME} here. You can write to {EMAIL}.",
    "Please send the documents to {ADDRESS} by {DATE}.",
    "{FIRST} from accounting asked me to pass on {PHONE}.",
    "The package for order {ORDER} should go to {NAME}, not me.",
    "Card on file: {CARD}. Please stop charging it.",
    "I booked a demo for {TIME}; my contact is {EMAIL}.",
    "Can {NAME} get access? Her email is {EMAIL}.",
    "We were charged {AMOUNT} on {DATE} for order {ORDER}.",
    "his number is {PHONE} and he lives at {ADDRESS}",
    "Text {PHONE} when the courier is close, ask for {FIRST}.",
    "Account holder: {NAME}. Billing address: {ADDRESS}.",
    "My colleague {NAME} and I share the login {EMAIL}.",
    "The last four digits don't matter, the full card is {CARD}.",
    "Nothing personal here, just asking about order {ORDER}.",
    "Please update the phone on file from {PHONE} to {PHONE}.",
    "{NAME} called at {TIME} and left {PHONE} as a callback number.",
    "send the receipt for {AMOUNT} to {EMAIL} thx",
    "Return label please, I'm at {ADDRESS}.",
    "Paid {AMOUNT} with {CARD} on {DATE}, still no confirmation.",
    "Who is {NAME}? That person placed order {ORDER} on my account.",
    "Kind regards, {NAME}, {PHONE}",
    "The outage started at {TIME} and lasted until {DATE}.",
    "I changed my address to {ADDRESS}; old one was {ADDRESS}.",
    "Invite {EMAIL}, {EMAIL} and {EMAIL} to the workspace.",
    "{FIRST} will pick it up. Backup contact: {NAME}, {PHONE}.",
    "Charge {CARD} and send the invoice to {NAME} at {EMAIL}.",
    "Delivery window {TIME} to {TIME} on {DATE} works for us.",
    "I am {NAME}, born and raised at {ADDRESS}, and I want my data deleted.",
    "Order {ORDER} for {AMOUNT} arrived on {DATE}. Great service!",
    "Ask {FIRST} to ring me on {PHONE} before {TIME}.",
]
EXTRA_FIRST_NAMES = [
    "Anna",
    "Ben",
    "Chiara",
    "Dmitri",
    "Elif",
    "Femi",
    "Gustavo",
    "Hiroshi",
    "Isla",
    "Jakub",
    "Keiko",
    "Leila",
    "Mateo",
    "Nadia",
    "Oscar",
    "Pablo",
    "Quinn",
    "Rosa",
    "Samir",
    "Tariq",
    "Ursula",
    "Victor",
    "Wanjiru",
    "Xavier",
    "Yara",
    "Zoe",
    "Amara",
    "Bjorn",
    "Camille",
    "Darius",
]
EXTRA_LAST_NAMES = [
    "Nguyen",
    "Okafor",
    "Silva",
    "Kowalski",
    "Jensen",
    "Moreau",
    "Yilmaz",
    "Hughes",
    "Andersson",
    "Romero",
    "Mensah",
    "Fischer",
    "Rahman",
    "O'Brien",
    "Murphy",
    "Suzuki",
    "Petrov",
    "Garcia",
    "Walker",
    "Adeyemi",
    "Larsen",
    "Ferreira",
    "Ito",
    "Novotna",
    "Dlamini",
]
EXTRA_EMAIL_DOMAINS = ["hotmail.com", "icloud.com", "web.de", "company.org", "mail.com", "studio.co", "uni.edu"]
EXTRA_PHONE_FORMATS = [
    "+33 6 {2} {2} {2} {2}",
    "+81 90 {4} {4}",
    "{3}.{3}.{4}",
    "+1-{3}-555-{4}",
    "+61 4{2} {3} {3}",
    "0{3} {3} {4}",
    "+34 6{2} {3} {3}",
]
EXTRA_STREETS = ["Willow", "Station", "High", "Queen", "River", "Hill", "Sunset", "Pine", "Birch", "Victoria"]
EXTRA_STREET_TYPES = ["Drive", "Court", "Way", "Place", "Terrace"]
EXTRA_CITIES = ["Lyon", "Osaka", "Melbourne", "Chicago", "Madrid", "Oslo", "Cape Town", "Seattle", "Nairobi"]


def digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def pii_value(rng: random.Random, slot: str, persona: tuple[str, str], *, wide: bool = False) -> str:
    """A realistic value for `slot`; names and emails of one row belong to `persona`. `wide` (the train
    split) also draws from the train-only formats and may lower-case a name, as people type them."""
    first, last = persona
    if slot in ("NAME", "FIRST"):
        name = f"{first} {last}" if slot == "NAME" else first
        return name.lower() if wide and rng.random() < 0.1 else name
    if slot == "EMAIL":
        locals_ = [f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randrange(10, 99)}"]
        domains = EMAIL_DOMAINS + EXTRA_EMAIL_DOMAINS if wide else EMAIL_DOMAINS
        if wide:
            locals_ += [f"{first}_{last}", f"{last}.{first[0]}"]
        local = rng.choice(locals_).lower().replace("'", "")
        return f"{local}@{rng.choice(domains)}"
    if slot == "PHONE":
        fmt = rng.choice(PHONE_FORMATS + EXTRA_PHONE_FORMATS if wide else PHONE_FORMATS)
        for n in (4, 3, 2):
            while f"{{{n}}}" in fmt:
                fmt = fmt.replace(f"{{{n}}}", digits(rng, n), 1)
        return fmt
    if slot == "ADDRESS":
        if not wide:
            return f"{rng.randrange(2, 990)} {rng.choice(STREETS)} {rng.choice(STREET_TYPES)}, {rng.choice(CITIES)}"
        street = f"{rng.choice(STREETS + EXTRA_STREETS)} {rng.choice(STREET_TYPES + EXTRA_STREET_TYPES)}"
        number, city = rng.randrange(1, 990), rng.choice(CITIES + EXTRA_CITIES)
        return rng.choice(
            [
                f"{number} {street}, {city}",
                f"{number} {street}, {city}",
                f"Flat {rng.randrange(1, 40)}, {number} {street}, {city}",
                f"{street} {number}, {city}",
                f"{number} {street}, {city} {digits(rng, 5)}",
            ]
        )
    if slot == "CARD":
        groups = [rng.choice("45") + digits(rng, 3)] + [digits(rng, 4) for _ in range(3)]
        return rng.choice([" ", "-", ""] if wide else [" ", "-"]).join(groups)
    raise ValueError(f"unknown PII slot {slot!r}")


def distractor_value(rng: random.Random, slot: str) -> str:
    """Values that look numeric or personal-ish but are not PII and must be left alone."""
    if slot == "ORDER":
        return f"#{rng.randrange(1000, 99999)}"
    if slot == "DATE":
        return f"{rng.choice(MONTHS)} {rng.randrange(1, 29)}"
    if slot == "AMOUNT":
        return f"${rng.randrange(5, 400)}.{rng.choice(['00', '50', '99'])}"
    if slot == "TIME":
        return f"{rng.randrange(1, 12)}{rng.choice([':00', ':30', 'pm', 'am'])}"
    raise ValueError(f"unknown slot {slot!r}")


def make_redaction_row(rng: random.Random, *, eval_split: bool, index: int) -> dict:
    if eval_split:
        pool = EVAL_ONLY_REDACTION_TEMPLATES if rng.random() < 0.5 else REDACTION_TEMPLATES
    else:
        pool = REDACTION_TEMPLATES + REDACTION_PARAPHRASES
    template = rng.choice(pool)
    text, redacted, tags, count = template, template, [], 0
    first_names = FIRST_NAMES if eval_split else FIRST_NAMES + EXTRA_FIRST_NAMES
    last_names = LAST_NAMES if eval_split else LAST_NAMES + EXTRA_LAST_NAMES
    persona = (rng.choice(first_names), rng.choice(last_names))
    while "{" in text:
        start = text.index("{")
        slot = text[start + 1 : text.index("}", start)]
        if slot in PII_SLOTS:
            tag = "NAME" if slot == "FIRST" else slot
            if tag == "NAME" and "NAME" in tags:  # a second name in the same text is another person
                persona = (rng.choice(first_names), rng.choice(last_names))
            value, placeholder = pii_value(rng, slot, persona, wide=not eval_split), f"[{tag}]"
            count += 1
            if tag not in tags:
                tags.append(tag)
        else:
            value = placeholder = distractor_value(rng, slot)
        text = text.replace("{" + slot + "}", value, 1)
        redacted = redacted.replace("{" + slot + "}", placeholder, 1)
    return chat_row("redaction", text, {"redacted": redacted, "count": count, "tags": tags})


# --------------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------------
ROW_MAKERS: dict[str, Callable[..., dict]] = {
    "triage": make_triage_row,
    "translate": make_translate_row,
    "redaction": make_redaction_row,
}


def user_text(row: dict) -> str:
    return row["messages"][1]["content"]


def generate(template: str) -> tuple[list[dict], list[dict]]:
    """Return (train, eval) rows; user texts are unique within and across the two splits."""
    make_row = ROW_MAKERS[template]
    seen: set[str] = set()
    splits: list[list[dict]] = []
    for split_name, wanted in (("train", TRAIN_ROWS[template]), ("eval", EVAL_ROWS)):
        rng = random.Random(f"arkor-template-data-v1:{template}:{split_name}")
        rows: list[dict] = []
        attempts = 0
        while len(rows) < wanted:
            attempts += 1
            if attempts > wanted * 50:
                raise RuntimeError(f"{template}/{split_name}: not enough distinct rows ({len(rows)}/{wanted})")
            row = make_row(rng, eval_split=split_name == "eval", index=len(rows))
            if user_text(row) not in seen:
                seen.add(user_text(row))
                rows.append(row)
        splits.append(rows)
    return splits[0], splits[1]


def render_jsonl(rows: list[dict]) -> bytes:
    return "".join(to_json(row) + "\n" for row in rows).encode("utf-8")


def expected_files(out_root: Path) -> dict[Path, bytes]:
    files: dict[Path, bytes] = {}
    for template in ROW_MAKERS:
        train, eval_rows = generate(template)
        files[out_root / template / "data" / "train.jsonl"] = render_jsonl(train)
        files[out_root / template / "data" / "eval.jsonl"] = render_jsonl(eval_rows)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out-root",
        type=Path,
        default=DEFAULT_OUT_ROOT,
        help="folder holding <template>/data/ (default: src/arkor/templates)",
    )
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if a file differs")
    args = parser.parse_args(argv)
    stale = []
    for path, content in expected_files(args.out_root).items():
        if args.check:
            if not path.is_file() or path.read_bytes() != content:
                stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        rows = content.count(b"\n")
        print(f"wrote {path} ({rows} rows)")
    if stale:
        print("stale template data (run scripts/make_template_data.py):", *stale, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
