# syntax=docker/dockerfile:1
#
# One image for every PCN service. The service to run is chosen by the
# command, e.g.
#   nameko run --config services/config.yaml \
#       services.projects.service:ProjectsService
# (see docker-compose.yml and k8s/base/).

# The web service's front-end assets: NHS.UK frontend from npm, exactly as package-lock.json
# pins it (npm ci; axe-core, a devDependency of the browser tests, is left out).
FROM node:20-bookworm-slim AS web-assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# What both Python images share: slim Python 3.11 and the unprivileged runtime user (numeric
# ids so Kubernetes can verify runAsNonRoot; kept as ENV because a build ARG does not reach the
# stages built FROM this one).
FROM python:3.11-slim AS python-base
ARG APP_UID=10001
ARG APP_GID=10001
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_UID=${APP_UID} \
    APP_GID=${APP_GID}
RUN groupadd --system --gid "${APP_GID}" pcn \
    && useradd --system --uid "${APP_UID}" --gid pcn --no-create-home \
       --home-dir /app --shell /usr/sbin/nologin pcn
WORKDIR /app

# The local OpenID provider of the compose stack (docker-compose.yml's `oidc`; never in k8s/):
# tools/oidc_provider in its own virtualenv from its requirements, as .venv-oidc is made locally
# (oidc-provider-mock needs Flask >= 3.1, which the services' Werkzeug pin rules out). Built
# with `target: oidc-provider`; everything is installed here, nothing is fetched at run time.
FROM python-base AS oidc-provider
ENV PATH=/opt/oidc-provider/bin:$PATH
COPY tools/oidc_provider/requirements.txt ./oidc-provider-requirements.txt
RUN python -m venv /opt/oidc-provider \
    && /opt/oidc-provider/bin/pip install -r oidc-provider-requirements.txt
COPY tools/__init__.py ./tools/__init__.py
COPY tools/oidc_provider ./tools/oidc_provider
RUN chown -R root:root /app && chmod -R a+rX,go-w /app
USER ${APP_UID}:${APP_GID}
EXPOSE 9400
CMD ["python", "-m", "tools.oidc_provider", "--host", "0.0.0.0", "--port", "9400"]

# The services' image (the last stage: what a build without a target makes).
FROM python-base

# Install the project with every dependency pinned by constraints.txt.
COPY pyproject.toml constraints.txt ./
COPY shared ./shared
COPY services ./services
COPY analytics ./analytics
# What the web service serves at /assets/ (services/web/service.py: FRONTEND_ASSETS), and the
# package's package.json and README (its licence); nothing else of node_modules.
COPY --from=web-assets /build/node_modules/nhsuk-frontend/dist/nhsuk \
     ./node_modules/nhsuk-frontend/dist/nhsuk
COPY --from=web-assets /build/node_modules/nhsuk-frontend/package.json \
     /build/node_modules/nhsuk-frontend/README.md ./node_modules/nhsuk-frontend/
RUN pip install -c constraints.txt . \
    && chown -R root:root /app \
    && chmod -R a+rX,go-w /app

# `nameko run` reads services/config.yaml relative to /app.
USER ${APP_UID}:${APP_GID}

# Documentation only: projects 8001, measurement 8002, training 8003, notifications 8004,
# web 8005 (services/registry.py).
EXPOSE 8001 8002 8003 8004 8005

# No default service: docker-compose.yml and the Kubernetes manifests always
# give the command. No backdoor port is ever opened.
CMD ["nameko", "--help"]
