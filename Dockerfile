# Production image: the controller only (no sandbox/moto). Build: docker build -t sagemaker-gitops .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY controller ./controller
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
# git is needed for `run --repo`; nothing else beyond the Python package.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 controller
COPY --from=build /install /usr/local
USER 10001
WORKDIR /home/controller
EXPOSE 8080
# Probes: GET /healthz (alive) and /readyz (synced, AWS reachable) on --http-port.
ENTRYPOINT ["sagemaker-gitops"]
CMD ["run", "--manifests", "/manifests", "--http-host", "0.0.0.0"]
