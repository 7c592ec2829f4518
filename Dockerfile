FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, so code changes reuse this layer: exactly the locked versions, each file
# checked against its sha256, the same pins the tests ran with (requirements-test.lock adds only
# the test tools to them). The lock also pins pip and setuptools, which build the project below.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY pyproject.toml README.md alembic.ini babel.cfg ./
COPY migrations ./migrations
COPY locales ./locales
COPY bot ./bot
RUN pip install --no-deps --no-build-isolation . \
    && pybabel compile -d locales -D messages \
    && useradd --system --create-home --uid 10001 bot
USER bot
# matplotlib's font cache, built once here rather than by every chart worker the bot starts (a
# worker is a new process; without a writable home each would build it again in a temporary folder).
ENV MPLCONFIGDIR=/home/bot/.matplotlib
RUN python -c "import matplotlib.font_manager"

# The compose file runs `python -m bot migrate` first; `run` applies migrations as well.
# The webhook (webhook mode), /healthz and /metrics (WEBHOOK_LISTEN, METRICS_LISTEN).
EXPOSE 8081
CMD ["python", "-m", "bot", "run"]
