# syntax=docker/dockerfile:1
#
# One image for every PCN service. The service to run is chosen by the
# command, e.g.
#   nameko run --config services/config.yaml \
#       services.projects.service:ProjectsService
# (see docker-compose.yml and k8s/base/).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Unprivileged runtime user (numeric ids so Kubernetes can verify runAsNonRoot).
ARG APP_UID=10001
ARG APP_GID=10001
RUN groupadd --system --gid "${APP_GID}" pcn \
    && useradd --system --uid "${APP_UID}" --gid pcn --no-create-home \
       --home-dir /app --shell /usr/sbin/nologin pcn

WORKDIR /app

# Install the project with every dependency pinned by constraints.txt.
COPY pyproject.toml constraints.txt ./
COPY shared ./shared
COPY services ./services
COPY analytics ./analytics
RUN pip install -c constraints.txt . \
    && chown -R root:root /app \
    && chmod -R a+rX,go-w /app

# `nameko run` reads services/config.yaml relative to /app.
USER ${APP_UID}:${APP_GID}

# Documentation only: projects uses 8001, measurement 8002.
EXPOSE 8001 8002

# No default service: docker-compose.yml and the Kubernetes manifests always
# give the command. No backdoor port is ever opened.
CMD ["nameko", "--help"]
