"""`python ray_probe.py ADDRESS JOB_ID`: prints the pid of the job's Ray actor, or `none` (a fresh driver asks)."""

import sys

import ray

from arkor.executors.ray import DEFAULT_NAMESPACE, actor_name

address, job_id = sys.argv[1], sys.argv[2]
ray.init(address=address, _node_ip_address="127.0.0.1", namespace=DEFAULT_NAMESPACE, log_to_driver=False)
try:
    actor = ray.get_actor(actor_name(job_id), namespace=DEFAULT_NAMESPACE)
    print(ray.get(actor.pid.remote(), timeout=60))
except (ValueError, ray.exceptions.RayActorError):
    print("none")
