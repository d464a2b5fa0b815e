"""What the harness scripts that drive `kyma serve` share: a pass/fail tally, running `kyma`,
the server in its own process (its API and S3 ports read from what it prints), HTTP requests,
API keys, and a catalog database of the run's own."""
import json, os, re, signal, subprocess, tempfile, threading, time, urllib.error, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Tally:
    def __init__(self):
        self.passed, self.failed = 0, 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"  ok    {name}", flush=True)
        else:
            self.failed += 1
            print(f"  FAIL  {name}\n        {str(detail)[:2000]}", flush=True)

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        raise SystemExit(1 if self.failed else 0)


def run(*args, **kw):
    result = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed: {result.stderr.strip()[:1000]}")
    return result.stdout


class Server:
    """`kyma serve` in its own process on free ports; with s3=True its S3 byte plane too."""

    def __init__(self, kyma, extra=(), config=None, s3=False):
        self.log = tempfile.NamedTemporaryFile(prefix="kyma-serve-", suffix=".log", delete=False)
        argv = [kyma, "serve", "--bind", "127.0.0.1:0", "--s3-bind", "127.0.0.1:0" if s3 else "off"] + list(extra)
        if config:
            path = tempfile.NamedTemporaryFile(prefix="kyma-", suffix=".toml", delete=False, mode="w")
            path.write(config)
            path.close()
            argv += ["--config", path.name]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.url = self.s3_url = None
        # One line per listener, in either order.
        for _ in range(2 if s3 else 1):
            line = self.process.stdout.readline()
            match = re.search(r"http://([0-9.]+):([0-9]+)", line)
            if not match:
                raise RuntimeError(f"kyma serve did not start: {line!r}; log: {open(self.log.name).read()[-2000:]}")
            if "S3" in line:
                self.s3_url = match.group(0)
            else:
                self.url = match.group(0)
                self.port = int(match.group(2))
        # Later output is not read: drain it so the server never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def request(url, method="GET", body=None, key=None, headers=None, timeout=60):
    h = dict(headers or {})
    if key:
        h["Authorization"] = "Bearer " + key
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    if data is not None and "Content-Type" not in h:
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def new_key(kyma, role, *tables, s3=False, name="harness"):
    """An API key's token; with s3=True, (token, access key id, secret)."""
    argv = [kyma, "keys", "create", "--role", role, "--quiet", "--name", name] + (["--s3"] if s3 else [])
    for table in tables:
        argv += ["--table", table]
    words = run(*argv).split()
    return tuple(words) if s3 else words[0]


def services_env():
    values = {}
    for line in open(os.path.join(ROOT, ".kyma", "services.env")):
        line = line.strip().removeprefix("export ")
        if "=" in line:
            key, value = line.split("=", 1)
            values[key] = value.strip("'")
    return values


def fresh_catalog(name):
    """A catalog database of this run's own, used by every `kyma` the script starts through
    KYMA_CATALOG (schemathesis makes tables with random names; S3 suites make many buckets)."""
    admin_url = os.environ.get("KYMA_PG_ADMIN_URL") or services_env().get("KYMA_PG_ADMIN_URL")
    subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    os.environ["KYMA_CATALOG"] = admin_url.rsplit("/", 1)[0] + "/" + name
    return name


def api(server, key, method, path, body=None):
    """A JSON request to the server's API: (status, the decoded reply)."""
    status, _, reply = request(server.url + path, method, body, key)
    return status, (json.loads(reply) if reply else {})


def wait_for_jobs(server, key, bucket, expected, seconds=300):
    """Polls the jobs route until `expected` jobs are done (or one failed); the counts."""
    deadline = time.monotonic() + seconds
    counts = {}
    while time.monotonic() < deadline:
        _, reply = api(server, key, "GET", f"/admin/buckets/{bucket}/jobs?limit=10000")
        counts = reply.get("counts", {})
        if counts.get("done", 0) >= expected or counts.get("failed", 0):
            return counts
        time.sleep(0.2)
    return counts


def count_rows(server, key, table):
    status, reply = api(server, key, "POST", "/v1/query", {"query": f"{table} | count"})
    return reply["rows"][0]["Count"] if status == 200 and reply.get("rows") else None


class WorkerProcess:
    """`kyma worker` in its own process, its output in a log file."""

    def __init__(self, kyma, *extra, env=None):
        self.log = tempfile.NamedTemporaryFile(prefix="kyma-worker-", suffix=".log", delete=False)
        self.process = subprocess.Popen([kyma, "worker", *extra], stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=120)
