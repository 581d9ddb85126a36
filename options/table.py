"""Every option, declared once (cibuildwheel's `resources/defaults.toml`, as Python).

One row per setting: its name (the config key; the flag is `--NAME`, the environment variable
`LAUNCHBUILD_NAME`), type, default, choices, help, who may set it, and the commands whose
command line carries it. The typer parameters and their help (`cli_params.py`), the choice
enums, the environment names, the config-file JSON Schema (`options/schema.py`) and the
trust boundary (`JOB_OPTION_NAMES`, docs/SECURITY.md) are all generated from this table.
`launchbuild serve`'s settings are rows too, in a scope of their own (`SERVE_OPTIONS`, at the
end): the server's, flags only, never layered, so they are kept out of OPTIONS.

Why Python and not TOML: TOML has no null, and a third of the defaults are "not set"
(`python`, `driver`, `push`, ...); it cannot say `int` vs `str` for a value either. A tuple
of frozen dataclasses carries both, costs no parse on the warm check path, and mypy reads it.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

from launchbuild.core.records import dataclass


class Setter(str, enum.Enum):
    """Who may set an option (docs/SECURITY.md, "Who controls what")."""

    JOB = "job"  # also the job's own launchbuild.toml / [tool.launchbuild]: job options only
    OPERATOR = "operator"  # flags, LAUNCHBUILD_*, the operator config file
    CLI = "cli"  # a command input (a file the operator names, an output choice): flag only


# The commands a job-reading flag appears on.
CHECK, BUILD, RESOLVE, DOCKERFILE, SHOW = "check", "build", "resolve", "dockerfile", "show"
JOB_COMMANDS = (CHECK, BUILD, RESOLVE, DOCKERFILE, SHOW)
_ALL = frozenset(JOB_COMMANDS)
# Commands that read no job but take some of the same flags (cli_params.table_command).
INSPECT, RULES = "inspect", "rules"
TABLE_COMMANDS = (*JOB_COMMANDS, INSPECT, RULES)
# The server's own settings: a scope of their own (SERVE_OPTIONS below), never options of a job.
SERVE = "serve"


def _on(*commands: str) -> frozenset[str]:
    return frozenset(commands)


@dataclass(frozen=True)
class Option:
    """One row of the option table: a setting, its type, default, help, who may set it and which
    commands carry it; flags, env names and the config schema come from it."""

    name: str  # the config key; flag --NAME
    kind: type  # str, bool, int, list (of str) or Path (CLI inputs only)
    default: Any
    help: str
    setter: Setter = Setter.OPERATOR
    choices: tuple[str, ...] = ()
    commands: frozenset[str] = frozenset()  # commands whose CLI carries the flag
    short: str | None = None  # e.g. "-f"
    negative: str | None = None  # "--online" for "--offline/--online"
    int_range: tuple[int, int] = (0, 2**31 - 1)
    host_path: bool = False  # relative values in the operator config are relative to that file
    env: bool = True  # LAUNCHBUILD_NAME is read (CLI inputs: only when said so)
    enum_from: str | None = None  # "module:Enum" that already owns the choices (report formats)
    param: str | None = None  # the Python parameter name when two rows share one flag
    to_api: bool = False  # a layered option the CLI passes as an api keyword (entrypoint)
    panel: str | None = None  # the --help section it is listed in (None: "Options")

    @property
    def flag(self) -> str:
        return "--" + (self.param or self.name).replace("_", "-")

    @property
    def param_name(self) -> str:
        return (self.param or self.name).replace("-", "_")

    @property
    def env_var(self) -> str | None:
        if not self.env:
            return None
        return "LAUNCHBUILD_" + (self.param or self.name).upper().replace("-", "_")

    @property
    def layered(self) -> bool:
        """Resolved through the precedence engine (defaults < config < env < flags)."""
        return self.setter is not Setter.CLI

    @property
    def job_may_set(self) -> bool:
        return self.setter is Setter.JOB


J, O, C = Setter.JOB, Setter.OPERATOR, Setter.CLI
_K8S = _on(BUILD)
_KPANEL = "Kubernetes engine (--engine kubernetes)"

# The order is the order of --help and of `--verbose`'s option table.
OPTIONS: tuple[Option, ...] = (
    # --- command inputs (flags only) ---
    Option("ref", str, None, "Git commit, branch or tag (instead of URL@REF).", C, commands=_ALL, env=False),
    Option("subdir", str, None, "Subdirectory of the source that holds the job.", C, commands=_ALL, env=False),
    # --- job options: what the job's code needs and which node it targets ---
    Option("entrypoint", str, None, 'Entrypoint command, e.g. "python train.py".', J,
           commands=_on(CHECK, BUILD, DOCKERFILE, SHOW), to_api=True),
    Option("requirements", Path, None, "Requirements file (overrides detection).", C,
           commands=_on(CHECK, BUILD, RESOLVE, DOCKERFILE), env=False),
    Option("frozen", Path, None, "The source run's package list (pip freeze output).", C, commands=_ALL, env=False),
    Option("run-metadata", Path, None, "The source run's metadata (wandb-metadata.json).", C,
           commands=_on(CHECK, BUILD, RESOLVE, SHOW), env=False),
    Option("queue-config", Path, None, 'Queue config JSON: {"builder": {"accelerator": {"base_image": ...}}}.', C,
           commands=_ALL, env=False),
    Option("python", str, None, "Target Python X.Y.", J, commands=_ALL),
    Option("base-image", str, None, "Accelerator base image; Python is installed into it with apt.", J,
           commands=_on(CHECK, BUILD, DOCKERFILE, SHOW)),
    Option("python-base-image", str, "python:{python}-slim", "Base image when no accelerator image is given.", J,
           commands=_on(CHECK, BUILD, DOCKERFILE, SHOW)),
    Option("gpu", list, [], "Target GPU: a name (H100, T4, 'NVIDIA A100-SXM4-40GB'), sm_90 or 9.0; repeatable; "
           "'auto' reads NVML.", J, commands=_on(CHECK, BUILD)),
    Option("driver", str, None, "Node NVIDIA driver version, e.g. 535.104.05.", J, commands=_on(CHECK, BUILD)),
    Option("platform", str, "linux/amd64", "Target platform: linux/amd64 or linux/arm64 (default linux/amd64).", J,
           commands=_on(CHECK, BUILD, RESOLVE, DOCKERFILE, INSPECT)),
    # inspect's --offline: a plain switch of that command (no --online, no environment, no
    # config), unlike the layered `offline` of the job commands.
    Option("inspect-offline", bool, False, "Use the fact cache and tag inference only.", C, commands=_on(INSPECT),
           env=False, param="offline"),
    Option("format", list, [], "Output format; repeat for several (each to its own file with --output).", C,
           commands=_on(CHECK, BUILD), short="-f", env=False, enum_from="launchbuild.report.formats:OutputFormat"),
    Option("show-format", str, None, "json for machines.", C, choices=("rich", "json"),
           commands=_on(RESOLVE, SHOW, INSPECT, RULES), short="-f", env=False, param="format"),
    Option("output", Path, None, "Write the report to FILE (with several formats: FILE.<ext> per format).", C,
           commands=_on(CHECK, BUILD, RESOLVE, DOCKERFILE), short="-o", env=False),
    Option("ignore", list, [], "Rule ID to ignore; repeatable.", J, commands=_on(CHECK, BUILD)),
    # --- operator options: the host's network and tool policy ---
    Option("offline", bool, False, "Use caches only; never reach the network.", O,
           commands=_on(CHECK, BUILD, RESOLVE, DOCKERFILE), negative="--online"),
    Option("strict", bool, False, "Treat warnings as failures.", J, commands=_on(CHECK, BUILD)),
    Option("resolver", str, "uv", "Lock backend.", O, choices=("uv", "pip-tools"), commands=_on(RESOLVE)),
    Option("torch-index-url", str, "https://download.pytorch.org/whl", "Base URL of the +cuXYZ wheel indexes.", O),
    Option("allow-index-host", list, [], "Package hosts (HOST[:PORT]) a job's dependency files may name; none given: "
           "any host (the service's --allow-index-host; the CLI reads it from the config or the environment).", O),
    # --- operator options: where job code runs while resolving (resolver/sandbox.py) ---
    Option("build-sandbox-image", str, "python:{python}-slim", "Image of the throwaway container a job's build "
           "backends (setup.py, PEP 517 hooks) run in while resolving; {python} is the target Python.", O),
    Option("host-builds", bool, False, "UNSAFE: run job build backends on this host, as the operator, instead of "
           "in the build sandbox (only for engines-less hosts that build trusted jobs only).", O),
    # --- operator options: where and how the image is built ---
    Option("push", str, None, "Push the built image to REGISTRY/REPO (host:port works).", O, commands=_on(BUILD)),
    Option("engine", str, "auto", "Build engine.", O, choices=("auto", "buildkit", "classic", "kubernetes"),
           commands=_on(BUILD)),
    Option("cache-scope", str, None, "Who shares the install steps' download cache: builds of one scope only, since "
           "job code runs in those steps. Default: each job's source (its git remote, or its code folder); set a "
           "tenant's name on a shared queue, or one name on a single user's machine.", O,
           commands=_on(BUILD, DOCKERFILE)),
    Option("bytecode", bool, True, "Compile the environment's bytecode into the image: the job starts faster; "
           "--no-bytecode gives a smaller image whose modules compile at every start instead.", J,
           commands=_on(BUILD, DOCKERFILE), negative="--no-bytecode"),
    Option("uid", int, 1000, "uid of the non-root user (default 1000).", O, commands=_on(BUILD, DOCKERFILE),
           int_range=(0, 2**31 - 1)),  # 0 passes here so the plan can say "would run as root"
    Option("force", bool, False, "Build even when check has errors, or the tag exists.", C, commands=_on(BUILD),
           env=False),
    Option("no-cache", bool, False, "Rebuild even when the content tag exists.", C, commands=_on(BUILD), env=False),
    Option("dry-run", bool, False, "With --engine kubernetes: write the manifests, submit nothing.", C,
           commands=_on(BUILD), env=False),
    Option("extra", list, [], "Optional-dependency extra of the job's project; repeatable.", J,
           commands=_on(CHECK, BUILD, RESOLVE, DOCKERFILE)),
    Option("group", list, [], "Dependency group (PEP 735, Poetry, PDM, Pipfile dev); repeatable.", J,
           commands=_on(CHECK, BUILD, RESOLVE, DOCKERFILE)),
    Option("quiet", bool, False, "Print only the verdict and errors.", C, commands=_on(CHECK, BUILD), short="-q",
           env=False),
    Option("verbose", bool, False, "Print resolved options, evidence and the full environment.", C,
           commands=_on(CHECK, BUILD, RESOLVE, SHOW), short="-v", env=False),
    Option("ca-bundle", str, None, "CA bundle mounted into install steps only, as a build secret "
           "(default: SSL_CERT_FILE, REQUESTS_CA_BUNDLE, PIP_CERT).", O, commands=_on(BUILD, DOCKERFILE),
           host_path=True),
    Option("config", Path, None, "Operator config TOML (default: $XDG_CONFIG_HOME/launchbuild/config.toml); "
           "may set every option, unlike a job's launchbuild.toml.", C, commands=_ALL, env=False),
    Option("progress", str, None, "auto (tty on a terminal, else plain), tty (live status), plain (a line per step "
           "with N/M and its own time, for CI logs), quiet.", C, choices=("auto", "tty", "plain", "quiet"),
           commands=_on(CHECK, BUILD)),  # LAUNCHBUILD_PROGRESS is read by the flag itself
    # --- operator options: the Kubernetes engine (builder/kubernetes.KubernetesBuildOptions) ---
    Option("kubernetes-namespace", str, "default", "Namespace of the cluster build Job.", O, commands=_K8S, panel=_KPANEL),
    Option("kubernetes-context-store", str, "configmap", "Where the build context goes: configmap, pvc:NAME[/DIR], "
           "s3://BUCKET[/PREFIX], gs://BUCKET[/PREFIX].", O, commands=_K8S, panel=_KPANEL),
    Option("kubernetes-builder", str, "buildkit", "Cluster builder: buildkit (rootless); kaniko is refused with a "
           "migration note (docs/kubernetes.md).", O, choices=("buildkit", "kaniko"), commands=_K8S, panel=_KPANEL),
    Option("kubernetes-registry-secret", str, None, "kubernetes.io/dockerconfigjson Secret the builder pushes with.",
           O, commands=_K8S, panel=_KPANEL),
    Option("kubernetes-insecure-registry", bool, False, "The push registry is plain http or has a self-signed "
           "certificate.", O, commands=_K8S, panel=_KPANEL),
    Option("kubernetes-ca-configmap", str, None, "ConfigMap holding the CA bundle the builder trusts (behind TLS "
           "interception); none: no CA is mounted.", O, commands=_K8S, panel=_KPANEL),
    Option("kubernetes-ca-key", str, "ca.crt", "Key of the CA bundle in --kubernetes-ca-configmap.", O,
           commands=_K8S, panel=_KPANEL),
    Option("kubernetes-service-account", str, None, "Service account of the build pod (e.g. one bound to workload "
           "identity for s3/gs stores).", O, commands=_K8S, panel=_KPANEL),
    Option("kubernetes-storage-secret", str, None, "Secret whose keys become the environment of the container "
           "reading an s3/gs context store.", O, commands=_K8S, panel=_KPANEL),
    Option("kubernetes-cache-repo", str, None, "Registry repository of the layer cache (default: the push "
           "repository).", O, commands=_K8S, panel=_KPANEL),
    Option("kubernetes-resources", list, [], "Builder requests/limits as NAME=QUANTITY: cpu-request, "
           "memory-request, cpu-limit, memory-limit, ephemeral-storage-request, ephemeral-storage-limit; "
           "repeatable.", O, commands=_K8S, panel=_KPANEL),
    Option("kubernetes-node-selector", list, [], "Node label KEY=VALUE the build pod must match; repeatable.", O,
           commands=_K8S, panel=_KPANEL),
    Option("kubernetes-toleration", list, [], "Toleration KEY=VALUE:EFFECT or KEY:EFFECT; repeatable.", O,
           commands=_K8S, panel=_KPANEL),
    Option("kubernetes-timeout", int, 1800, "Seconds the build Job may run (activeDeadlineSeconds).", O,
           commands=_K8S, panel=_KPANEL, int_range=(1, 7 * 24 * 3600)),
    Option("kubernetes-ttl-after-finished", int, 3600, "Seconds a finished Job is kept (ttlSecondsAfterFinished).",
           O, commands=_K8S, panel=_KPANEL, int_range=(0, 365 * 24 * 3600)),
    Option("kubernetes-builder-image", str, None, "Builder image override, e.g. pinned by digest.", O,
           commands=_K8S, panel=_KPANEL),
    Option("kubernetes-fetch-image", str, None, "Image that downloads an s3/gs context (BuildKit), override.", O,
           commands=_K8S, panel=_KPANEL),
    Option("kubernetes-ca-secret", str, None, "Secret holding the CA bundle the builder trusts (instead of "
           "--kubernetes-ca-configmap), under --kubernetes-ca-key.", O, commands=_K8S, panel=_KPANEL),
    Option("kubernetes-uv-image", str, None, "Image whose /usr/local/bin/uv is copied into the cluster context "
           "(default: the uv image of this host's uv version).", O, commands=_K8S, panel=_KPANEL),
    Option("kubernetes-verify", bool, True, "Verify the pushed image in a Pod with no network before it gets its "
           "content tag.", O, commands=_K8S, panel=_KPANEL, negative="--no-kubernetes-verify"),
    Option("kubernetes-verify-timeout", int, 300, "Seconds the verification Pod may run.", O, commands=_K8S,
           panel=_KPANEL, int_range=(1, 24 * 3600)),
    Option("kubernetes-promote-image", str, None, "Image that gives a verified image its content tag (crane), "
           "override.", O, commands=_K8S, panel=_KPANEL),
    Option("kubernetes-context-store-path", str, None, "pvc store: where the claim is mounted on this machine.", O,
           commands=_K8S, panel=_KPANEL, host_path=True),
    Option("kubernetes-context-uploader", str, None, "The operator's uploader command for the context archive, "
           "split like a shell line but run without one; {archive} and {url} are replaced.", O, commands=_K8S,
           panel=_KPANEL),
)

BY_NAME: dict[str, Option] = {o.name: o for o in OPTIONS}
LAYERED: tuple[Option, ...] = tuple(o for o in OPTIONS if o.layered)


def for_command(command: str) -> tuple[Option, ...]:
    """The rows whose flag `command` carries, in table order."""
    return tuple(o for o in OPTIONS if command in o.commands)


@dataclass(frozen=True)
class ServeOption:
    """One setting of `launchbuild serve` (a `service.ServeConfig` field). The server's, not a
    job's: flags only, never layered, never in a config file or a job's launchbuild.toml, so the
    rows live in SERVE_OPTIONS, which nothing that reads OPTIONS (schemas, JOB_OPTION_NAMES, the
    precedence engine) sees."""

    name: str  # flag --NAME
    kind: type  # str, int, float, bool, Path, or list (a repeatable string flag)
    default: Any
    help: str
    field: str  # the ServeConfig attribute it sets (a list becomes a tuple there)
    # The server reads its settings from its command line only: no LAUNCHBUILD_* variable is
    # read for them (a row could set env=True to declare one; none does).
    env: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name

    @property
    def param_name(self) -> str:
        return self.name.replace("-", "_")

    @property
    def env_var(self) -> str | None:
        return "LAUNCHBUILD_SERVE_" + self.name.upper().replace("-", "_") if self.env else None


S = ServeOption
# The order is the order of `launchbuild serve --help`.
SERVE_OPTIONS: tuple[ServeOption, ...] = (
    S("host", str, "127.0.0.1", "Address to listen on.", "host"),
    S("port", int, 8642, "Port to listen on; 0 picks a free one (see --address-file).", "port"),
    S("token-file", Path, None, "Bearer tokens, one name:token per line.", "token_file"),
    S("insecure-no-auth", bool, False, "Serve without tokens (loopback only).", "insecure_no_auth"),
    S("state-dir", Path, Path(".launchbuild-serve"), "Where build records (SQLite) live.", "state_dir"),
    S("max-concurrent-checks", int, 2, "Checks run at once.", "max_concurrent_checks"),
    S("max-concurrent-builds", int, 1, "Builds run at once.", "max_concurrent_builds"),
    S("check-queue-size", int, 64, "Checks that may wait; past that, 429.", "check_queue_size"),
    S("build-queue-size", int, 16, "Builds that may wait; past that, 429.", "build_queue_size"),
    S("max-upload-bytes", int, 64 * 1024 * 1024, "Largest request body; past it, 413.", "max_upload_bytes"),
    S("push-prefix", str, None, "Builds may push only under REGISTRY/PREFIX/ (none: no push).", "push_prefix"),
    S("check-cache-ttl", float, 300.0, "Seconds an exact check result is reused; 0 disables.", "check_cache_ttl_s"),
    S("shutdown-grace", float, 20.0, "Seconds SIGTERM waits for in-flight work.", "shutdown_grace_s"),
    S("address-file", Path, None, "Write {host, port, url, pid} as JSON here once listening.", "address_file"),
    S("config", Path, None, "Operator config TOML applied to every request (default: "
      "$XDG_CONFIG_HOME/launchbuild/config.toml); read once at start.", "operator_config"),
    S("allow-git-host", list, [], "Git hosts a request may clone from; repeatable (none given: any host).",
      "allow_git_hosts"),
    S("allow-registry", list, [], "Registries (HOST[:PORT]) a request's images may come from; repeatable "
      "(none given: any).", "allow_registries"),
    S("allow-index-host", list, [], "Package hosts (HOST[:PORT]) a job's dependency files may name; repeatable "
      "(none given: any).", "allow_index_hosts"),
)
