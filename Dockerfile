# Production image: the controller only (no sandbox/moto, no test tools, no compilers).
#   docker build -t sagemaker-gitops .
#   docker run --rm -p 8080:8080 -v "$PWD/manifests/endpoints:/manifests:ro" sagemaker-gitops
# Linted by hadolint in `make test` (tests/ship/test_dockerfile.py). Operations: docs/operations.md.

# The base is pinned to a patch release and Debian release, so a rebuild gets the same Python.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# -- build: install the package and its dependencies into a self-contained virtualenv ----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/sagemaker-gitops
COPY pyproject.toml README.md ./
COPY controller ./controller
# The base install only: the `sandbox` and `test` extras (moto, pytest, linters) stay out.
RUN /opt/sagemaker-gitops/bin/pip install . \
    && /opt/sagemaker-gitops/bin/pip uninstall --yes pip setuptools wheel

# -- runtime ---------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# git (and ssh for deploy keys) for `run --repo`; tini as PID 1 so SIGTERM reaches the controller,
# which then drains in-flight reconciles (--shutdown-timeout), and zombie git/ssh children are
# reaped. Package versions are not pinned on purpose: the base image pins the Debian release,
# and Debian security updates replace exact versions (old ones leave the archive), so pinned
# versions would break rebuilds instead of making them reproducible.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 controller \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin controller
COPY --from=build /opt/sagemaker-gitops /opt/sagemaker-gitops
# No .pyc writes (the root filesystem may be read-only); logs leave at once.
ENV PATH=/opt/sagemaker-gitops/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/home/controller
USER 10001:10001
WORKDIR /home/controller
EXPOSE 8080
# /healthz answers 200 while the control loop and workers are alive. No curl in a slim image:
# Python's urllib raises (exit 1) on a refused connection or a 503.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["tini", "--", "sagemaker-gitops"]
# Inside a container the probes must be reachable from outside it, so bind 0.0.0.0 (the CLI's
# default is 127.0.0.1). That exposes POST /suspend, /resume and /hooks/git to whatever can reach
# the port: docs/operations.md#http-surface says what guards them (--control-token-file, a
# NetworkPolicy as in deploy/kubernetes). Override the arguments to follow a git repository:
#   run --repo git@github.com:org/ml-endpoints.git --path manifests --http-host 0.0.0.0
CMD ["run", "--manifests", "/manifests", "--http-host", "0.0.0.0", "--http-port", "8080"]
