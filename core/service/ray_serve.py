"""The service on Ray Serve (``serve --engine ray``): the same application, in replicas that Ray starts,
autoscales on load and places on a cluster, its listings gathered by Ray Serve's own batching.

Each replica builds the application of ``create_app`` around a classifier it loads once, so its answers are
the single-process server's. With ``$RAY_ADDRESS`` set (Ray's own convention) the replicas go to that
cluster; otherwise a local Ray starts. Ray is optional (``requirements-scale.txt``): only this module imports
it, and only when ``--engine ray`` is asked for.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from ray import serve

from core.actions.listing_service import ListingService
from core.dataset import Dataset
from core.service.app import ServiceSettings, create_app
from core.workspace import Workspace

APP_NAME = "vitrine"


class ServeBatcher:
    """The micro-batcher's interface (``submit``, ``close``) on Ray Serve's ``@serve.batch``: the listings of
    concurrent requests to one replica go to one model call."""

    def __init__(self, run: Callable[[Sequence[Any]], list[Any]], max_batch: int = 32, max_wait: float = 0.0,
                 on_batch: Callable[[int], None] = lambda size: None, calls: int = 1,
                 on_loop: Callable[[Sequence[Any]], bool] = lambda items: False):
        @serve.batch(max_batch_size=max_batch, batch_wait_timeout_s=max_wait, max_concurrent_batches=calls)
        async def run_batch(items: list[Any]) -> list[Any]:
            on_batch(len(items))
            if on_loop(items):
                return run(items)
            return await asyncio.to_thread(run, items)  # the replica's event loop keeps taking requests

        self._one = run_batch

    async def submit(self, items: Sequence[Any]) -> list[Any]:
        """The results of ``items``, in order, each computed in a batch with whatever else arrived."""
        return list(await asyncio.gather(*(self._one(item) for item in items)))

    async def close(self) -> None:
        """Ray Serve owns the batching loop; nothing to stop."""


@serve.deployment
@serve.ingress()
class VitrineReplica:
    """One replica: the scenario's classifier, loaded once, behind the service's application."""

    def __init__(self, workspace: Workspace, dataset: Dataset, settings: ServiceSettings, device: str = "cpu"):
        self.workspace, self.dataset, self.settings = workspace, dataset, settings
        self.service = ListingService(workspace, dataset, settings.scenario, settings.promise, device=device)

    def __serve_build_asgi_app__(self):
        return create_app(self.workspace, self.dataset, self.settings, self.service, batcher=ServeBatcher)


def vitrine_application(workspace: Workspace, dataset: Dataset, settings: ServiceSettings, max_replicas: int,
                        gpus: int = 0) -> serve.Application:
    """The service as a Ray Serve application: 1 to ``max_replicas`` replicas, added when each has more than
    ``settings.max_batch`` requests in flight, each with one GPU when ``gpus``."""
    deployment = VitrineReplica.options(
        autoscaling_config={"min_replicas": 1, "initial_replicas": 1, "max_replicas": max_replicas,
                            "target_ongoing_requests": settings.max_batch},
        # Enough requests in flight per replica for its batches to fill.
        max_ongoing_requests=4 * settings.max_batch,
        ray_actor_options={"num_cpus": 1, "num_gpus": 1 if gpus else 0})
    return deployment.bind(workspace, dataset, settings, "cuda" if gpus else "cpu")


def run_on_ray(workspace: Workspace, dataset: Dataset, settings: ServiceSettings, host: str, port: int,
               max_replicas: int, address: str | None, uses_gpu: bool, blocking: bool = True) -> None:
    """Start (or join, at ``address``) a Ray, and serve the application on ``host:port`` until interrupted."""
    import ray

    logging.getLogger("ray.serve").setLevel(logging.WARNING)  # its start-up chatter; the CLI says where it serves
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    gpus = 1 if uses_gpu and ray.cluster_resources().get("GPU", 0) >= 1 else 0
    serve.start(http_options={"host": host, "port": port})
    try:
        serve.run(vitrine_application(workspace, dataset, settings, max_replicas, gpus), name=APP_NAME,
                  route_prefix="/", blocking=blocking)
    except KeyboardInterrupt:
        # Replicas stopped gracefully end their application's lifespan: the batch history gets their last hour.
        serve.shutdown()
        raise
