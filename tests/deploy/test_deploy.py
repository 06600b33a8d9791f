"""deploy/: what cannot run here (no container daemon) is parsed and checked.

nginx's own ``nginx -t`` checks the gateway's configuration and promtool the
Prometheus configuration and alert rules (Debian's ``nginx-light`` and
``prometheus`` packages; the tests say so and skip when they are missing).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess

import pytest
import yaml
from cryptography import x509

from hermetic.testing import self_signed_certificate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, "deploy")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$|DATABASE_URL$")


def _read(*parts: str) -> str:
    with open(os.path.join(DEPLOY, *parts), encoding="utf-8") as f:
        return f.read()


def _compose() -> dict:
    return yaml.safe_load(_read("compose.yaml"))


def _k8s() -> list[dict]:
    return [d for d in yaml.safe_load_all(_read("k8s", "reference.yaml")) if d]


# -- Dockerfile -------------------------------------------------------------------


def test_dockerfile_pins_its_base_and_runs_unprivileged():
    text = _read("Dockerfile")
    bases = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert bases and all(re.search(r":\d+\.\d+\.\d+-", b) for b in bases), bases
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert "HEALTHCHECK" in text and "--preload" in text
    for line in re.findall(r"^ENV\s+(.+?)(?<!\\)$", text, re.MULTILINE | re.DOTALL):
        assert not SECRET_NAME.search(line.split("=")[0]), line
    # The command's module exists for each SERVICE.
    for service in ("identity", "api", "web"):
        assert os.path.isfile(os.path.join(ROOT, "examples", "reference", service, "__init__.py"))


# -- compose ------------------------------------------------------------------------


def test_compose_exposes_only_the_gateway():
    services = _compose()["services"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"gateway"}
    assert _compose()["networks"]["internal"]["internal"] is True
    for name in ("identity", "api", "web", "postgres", "redis"):
        assert services[name]["networks"] == ["internal"], name


@pytest.mark.parametrize("name", ["identity", "api", "web"])
def test_compose_services_are_locked_down_and_take_secrets_from_files(name):
    compose = _compose()
    service = compose["services"][name]
    assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    env = service["environment"]
    assert env["REFERENCE_ENV"] == "production"
    for key, value in env.items():
        if key.endswith("_FILE"):
            secret = value.removeprefix("/run/secrets/")
            assert secret in service["secrets"] and secret in compose["secrets"], key
        elif SECRET_NAME.search(key):
            raise AssertionError(f"{name}: {key} is given inline; use {key}_FILE")
    for secret in service["secrets"]:
        assert compose["secrets"][secret]["file"].startswith("./secrets/")


def test_secrets_are_made_not_committed(tmp_path):
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "deploy/secrets/web_client_secret"], cwd=ROOT
    )
    assert ignored.returncode == 0, "deploy/secrets/ must be in .gitignore"
    copy = tmp_path / "deploy"
    copy.mkdir()
    shutil.copy(os.path.join(DEPLOY, "make-secrets"), copy)
    subprocess.run([str(copy / "make-secrets")], check=True, capture_output=True)
    made = copy / "secrets"
    assert oct((made / "web_client_secret").stat().st_mode & 0o777) == "0o600"
    assert (made / "database_url").read_text().startswith("postgresql+psycopg://reference:")
    cert = x509.load_pem_x509_certificate((made / "tls" / "gateway.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {"localhost", "gateway"}


# -- nginx ---------------------------------------------------------------------------


def test_nginx_accepts_the_gateway_configuration(tmp_path):
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light; .ci/run does)")
    crt, key = self_signed_certificate(tmp_path, stem="gateway")
    conf = _read("nginx", "nginx.conf")
    # The upstream names resolve only inside compose or Kubernetes.
    conf = conf.replace("server web:8000", "server 127.0.0.1:18000")
    conf = conf.replace("server identity:8000", "server 127.0.0.1:18001")
    conf = conf.replace("server api:8000", "server 127.0.0.1:18002")
    conf = conf.replace("/etc/nginx/tls/gateway.crt", crt).replace(
        "/etc/nginx/tls/gateway.key", key
    )
    path = tmp_path / "nginx.conf"
    path.write_text(conf)
    result = subprocess.run([nginx, "-t", "-q", "-c", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_nginx_gateway_limits_and_keeps_internal_routes_inside():
    conf = _read("nginx", "nginx.conf")
    assert "client_max_body_size 1m;" in conf
    assert re.search(r"ssl_protocols TLSv1\.2 TLSv1\.3;", conf)
    assert conf.count("limit_req zone=") >= 3 and "limit_req_status 429;" in conf
    assert "location = /metrics { return 404; }" in conf
    assert re.search(
        r"location ~ \^/oauth/\(token\|code\|user-token\|revoke\)\$ \{ return 404; \}", conf
    )
    # One trusted hop: the client's own X-Forwarded-For is replaced, never extended.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "proxy_add_x_forwarded_for" not in conf
    assert "proxy_set_header X-Request-ID $request_id;" in conf
    assert "non_idempotent" not in conf  # a POST is never retried on another instance
    assert "location ^~ /internal/ { return 404; }" in conf
    # TLS only: plain HTTP is redirected, keeping the method (308).
    assert re.search(r"listen 8080 default_server;\s+return 308 https://", conf)


def test_nginx_checks_the_api_token_before_routing():
    conf = _read("nginx", "nginx.conf")
    api = conf[conf.index("listen 8445 ssl;") :]
    routed = re.findall(r"location ([^{]+)\{([^}]*proxy_pass http://api;[^}]*)\}", api)
    # Every route to api's data needs the check; only the public docs do not.
    for where, body in routed:
        if "/v1/" in where:
            assert "auth_request /_gateway/token-check;" in body, where
        else:
            assert "docs" in where and "openapi" in where, where
    check = api[api.index("location = /_gateway/token-check") :]
    assert "internal;" in check.split("}")[0]
    assert "proxy_pass http://identity/internal/token-check;" in check


# -- Prometheus and Grafana -------------------------------------------------------------


def _promtool() -> str:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus; .ci/run does)")
    return tool


def test_promtool_accepts_the_scrape_config_and_rules():
    tool = _promtool()
    prometheus = os.path.join(DEPLOY, "prometheus")
    for args in (
        ["check", "config", "--syntax-only", "prometheus.yml"],
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts_test.yml"],
    ):
        result = subprocess.run([tool, *args], cwd=prometheus, capture_output=True, text=True)
        assert result.returncode == 0, (args, result.stdout, result.stderr)


def _exported_metrics() -> set[str]:
    from examples.reference.api import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": "sqlite://",
            "JWT_TRUSTED_ISSUERS": {"https://identity.test": []},
        }
    )
    client = app.test_client()
    client.get("/v1/notes", headers={"Accept": "application/json"})  # a 401: an event
    text = client.get("/metrics").text
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            # A labelled metric with no sample yet is still declared.
            _, _, name, kind = line.split(" ")
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
            names.update(name.removesuffix("_total") + s for s in suffixes.get(kind, [""]))
        elif line and not line.startswith("#"):
            names.add(line.split("{")[0].split(" ")[0])
    return names


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b(hermetic_[a-z_]+)", expr))


def test_alerts_and_dashboard_use_metrics_the_services_export():
    exported = _exported_metrics()
    rules = yaml.safe_load(_read("prometheus", "alerts.yml"))
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    dashboard = json.loads(_read("grafana", "dashboard.json"))
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = set().union(*(_metric_names(e) for e in exprs))
    assert used and used <= exported, used - exported
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"LoginFailuresHigh", "CSRFRefusals", "RateLimited", "ServerErrors"} <= alerts
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


# -- Kubernetes ---------------------------------------------------------------------------


def test_kubernetes_deployments_run_unprivileged_with_probes():
    deployments = [d for d in _k8s() if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {"identity", "api", "web", "gateway"}
    for d in deployments:
        pod = d["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, d["metadata"]["name"]
        assert pod["automountServiceAccountToken"] is False
        for c in pod["containers"] + pod.get("initContainers", []):
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
        for c in pod["containers"]:
            assert "readinessProbe" in c and "livenessProbe" in c, c["name"]
            for var in c.get("env", []):
                assert not (
                    SECRET_NAME.search(var["name"])
                    and "value" in var
                    and not var["name"].endswith("_FILE")
                ), var
    assert not [d for d in _k8s() if d["kind"] == "Secret"], "no secret values in the repository"


def _allowed_pairs() -> set[tuple[str, str]]:
    pairs = set()
    for d in _k8s():
        if d["kind"] != "NetworkPolicy":
            continue
        target = d["spec"]["podSelector"].get("matchLabels", {}).get("app")
        for rule in d["spec"].get("ingress", []):
            for source in rule.get("from", [{"podSelector": {"matchLabels": {"app": "*"}}}]):
                pairs.add((source["podSelector"]["matchLabels"]["app"], target))
    return pairs


def test_network_policies_allow_only_the_system_paths():
    policies = [d for d in _k8s() if d["kind"] == "NetworkPolicy"]
    deny = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert deny and deny[0]["spec"]["ingress"] == [] and deny[0]["spec"]["egress"] == []
    assert _allowed_pairs() - {("prometheus", s) for s in ("web", "identity", "api")} == {
        ("*", "gateway"),  # the internet, on the TLS ports only
        ("gateway", "web"),
        ("gateway", "identity"),
        ("gateway", "api"),  # the API routes, after the gateway's token check
        ("web", "identity"),
        ("web", "api"),
        ("api", "gateway"),  # identity's JWKS, over TLS
    }


# -- hermetic check ------------------------------------------------------------------------


def _service_env(name: str) -> dict[str, str]:
    env = dict(_compose()["services"][name]["environment"])
    return {k: str(v) for k, v in env.items() if not k.endswith("_FILE")}


@pytest.mark.parametrize("name", ["identity", "api", "web"])
def test_hermetic_check_passes_on_the_deployment_and_fails_on_development(
    name, monkeypatch, tmp_path
):
    import importlib

    from hermetic.security.checks import ERROR, run_checks

    create_app = importlib.import_module(f"examples.reference.{name}").create_app
    base = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "WEB_CLIENT_SECRET": secrets.token_urlsafe(32),
        "DATABASE_URL": "sqlite://",
        "IDENTITY_KEYS_DIR": str(tmp_path / "keys"),
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_COST": 1024,
        "PASSWORD_HASH_PARALLELISM": 1,
    }
    workers = {"WEB_CONCURRENCY": "2"}  # gunicorn --workers 2, as deploy/Dockerfile runs it
    for key, value in _service_env(name).items():
        monkeypatch.setenv(key, value)
    deployed = create_app(base)
    assert run_checks(deployed, environ=workers) == []
    for key in _service_env(name):
        monkeypatch.delenv(key)
    findings = run_checks(create_app({**base, "REFERENCE_ENV": "development"}), environ=workers)
    assert any(f.level == ERROR for f in findings), findings
