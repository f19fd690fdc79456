"""The `arkor` command. Sits on top of everything: may import any arkor package."""
