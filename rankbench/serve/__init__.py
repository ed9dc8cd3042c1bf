"""The ranking service: the HTTP app (app.py), the service behind it (service.py), request checks
(requests.py), Prometheus metrics (metrics.py) and the HTTP load generator of `rankbench load`
(http_load.py). `rankbench serve` and `rankbench load` (rankbench/cli) are its commands."""
