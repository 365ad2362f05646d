"""Secrets, resolved from the environment at load: upstream api keys and client keys.

Findings here name variables, never values: a literal secret pasted into routes.toml is refused
without being repeated back (it would land in terminals, CI logs and JSON reports). Client keys
are kept only as sha256 digests, so a loaded table holds no plaintext client key.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from router.config.envref import parse_env_ref
from router.config.problems import Finding, SchemaPath, format_path
from router.config.schema import AnthropicUpstream, Auth, AzureUpstream, BedrockUpstream, GeminiUpstream, KeyHash, Upstream, Vertex

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(slots=True)
class UpstreamKeys:
    """Upstream name → resolved api key (None: the upstream has none, or it is disabled); for
    a Vertex AI upstream, the path of its credentials file (None: Application Default
    Credentials): what its client authenticates with."""

    keys: dict[str, str | None] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)


@dataclass(slots=True)
class ClientKeys:
    """sha256 hex digest → key name (the variable name for `env:` keys), for client keys
    (`auth.keys`) and, kept apart so a client key never opens an admin endpoint, admin keys
    (`auth.admin-keys`)."""

    hashes: dict[str, str] = field(default_factory=dict)
    admin_hashes: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def resolve_upstream_keys(
    upstreams: Mapping[str, Upstream],
    environ: Mapping[str, str],
    users: Mapping[str, Sequence[str]],
) -> UpstreamKeys:
    """`users` maps an upstream to the routes that target it, so that a missing key names the
    routes it breaks."""
    result = UpstreamKeys()
    for name, upstream in upstreams.items():
        result.keys[name] = _upstream_key(name, upstream, environ, users.get(name, ()), result)
    return result


def resolve_client_keys(auth: Auth, environ: Mapping[str, str]) -> ClientKeys:
    """Client and admin keys, resolved and hashed the same way."""
    result = ClientKeys()
    _resolve_keys(auth.keys, ("auth", "keys"), environ, result.hashes, result.findings)
    _resolve_keys(auth.admin_keys, ("auth", "admin-keys"), environ, result.admin_hashes, result.findings)
    result.findings.extend(_shared_keys(result))
    return result


def _shared_keys(keys: ClientKeys) -> list[Finding]:
    """A key in both lists would let every client holding it reload and read the configuration."""
    shared = sorted(keys.admin_hashes[digest] for digest in keys.admin_hashes.keys() & keys.hashes.keys())
    return [
        Finding(("auth", "admin-keys"), f'admin key "{name}" is also a client key',
                "give admins a key of their own", "warning")
        for name in shared
    ]


def resolve_key_list(entries: Sequence[tuple[SchemaPath, str | KeyHash]], environ: Mapping[str, str]) -> ClientKeys:
    """Keys given with their own paths (the keys file's `keys[N]`)."""
    result = ClientKeys()
    for path, entry in entries:
        _resolve_key(entry, path, environ, result.hashes, result.findings)
    return result


def _resolve_keys(
    entries: Sequence[str | KeyHash],
    prefix: SchemaPath,
    environ: Mapping[str, str],
    hashes: dict[str, str],
    findings: list[Finding],
) -> None:
    for index, entry in enumerate(entries):
        _resolve_key(entry, (*prefix, index), environ, hashes, findings)


def _resolve_key(
    entry: str | KeyHash, path: SchemaPath, environ: Mapping[str, str], hashes: dict[str, str],
    findings: list[Finding],
) -> None:
    if isinstance(entry, KeyHash):
        _add_table_key(entry, path, environ, hashes, findings)
    else:
        _add_env_key(entry, path, environ, hashes, findings)


def _add_table_key(
    entry: KeyHash, path: SchemaPath, environ: Mapping[str, str], hashes: dict[str, str],
    findings: list[Finding],
) -> None:
    """`{ name, sha256 }` or `{ name, key = "env:NAME" }`: exactly one of the two."""
    if (entry.sha256 is None) == (entry.key is None):
        message = f'key "{entry.name}" needs exactly one of sha256 and key'
        fix = 'write sha256 = "<hex digest>" (`router keys add` makes a key) or key = "env:NAME"'
        findings.append(Finding(path, message, fix))
        return
    if entry.key is None:
        _add_hash(entry, path, hashes, findings)
        return
    resolved = _env_key(entry.key, (*path, "key"), environ, findings)
    if resolved is not None:
        hashes[resolved[1]] = entry.name  # named by its table, not by the variable


def _upstream_key(
    name: str,
    upstream: Upstream,
    environ: Mapping[str, str],
    users: Sequence[str],
    result: UpstreamKeys,
) -> str | None:
    if isinstance(upstream, AzureUpstream | AnthropicUpstream) and upstream.entra is not None:
        _entra_credentials(name, upstream, result)
        return None  # no key: Entra ID tokens, made per request
    if isinstance(upstream, GeminiUpstream | AnthropicUpstream) and upstream.vertex is not None:
        return _vertex_credentials(name, upstream, upstream.vertex, environ, users, result)
    if isinstance(upstream, AzureUpstream) and upstream.api_key is None:
        result.findings.append(_azure_without_credentials(name))
        return None
    if isinstance(upstream, BedrockUpstream) and not botocore_installed():
        # Needed with an API key too: Bedrock streams are AWS event streams, read with its parser.
        _off_or_error(name, upstream, result, Finding(
            ("upstreams", name), "bedrock upstreams need botocore",
            "pip install 'router[bedrock]' (or pip install botocore)"))
        return None
    reference: str | None = getattr(upstream, "api_key", None)  # mock upstreams have none
    if reference is None:
        return None
    path: SchemaPath = ("upstreams", name, "api-key")
    variable = parse_env_ref(reference)
    if variable is None:
        result.findings.append(_literal_secret(path, "api-key", _variable_for(name)))
        return None
    value = environ.get(variable) or None
    if value is None:
        if upstream.optional:
            result.disabled.add(name)
        result.findings.append(_unset(variable, path, users, optional=upstream.optional))
    return value


def _vertex_credentials(
    name: str,
    upstream: GeminiUpstream | AnthropicUpstream,
    vertex: Vertex,
    environ: Mapping[str, str],
    users: Sequence[str],
    result: UpstreamKeys,
) -> str | None:
    """The key file's path (None: Application Default Credentials). Vertex AI takes Google
    Cloud access tokens, made by google-auth (an optional extra) from these credentials."""
    if upstream.api_key is not None:
        message = "vertex authenticates with Google Cloud credentials; remove api-key"
        result.findings.append(Finding(("upstreams", name, "api-key"), message, "delete the api-key line"))
    if not google_auth_installed():
        _off_or_error(name, upstream, result, Finding(
            ("upstreams", name, "vertex"), "vertex upstreams need google-auth",
            "pip install 'router[google]' (or pip install google-auth)"))
        return None
    if vertex.credentials is None:
        return None
    path: SchemaPath = ("upstreams", name, "vertex", "credentials")
    variable = parse_env_ref(vertex.credentials)
    # A file's path is no secret: it may be written as it is, and said in a finding.
    key_file = vertex.credentials if variable is None else environ.get(variable) or None
    if key_file is None:
        assert variable is not None
        if upstream.optional:
            result.disabled.add(name)
        result.findings.append(_unset(variable, path, users, optional=upstream.optional))
        return None
    if not os.path.isfile(key_file):
        _off_or_error(name, upstream, result, Finding(
            path, f"credentials file {key_file} does not exist",
            "give the path of a service-account key file (JSON), or leave credentials out to use "
            "Application Default Credentials"))
        return None
    return key_file


def _entra_credentials(name: str, upstream: AzureUpstream | AnthropicUpstream, result: UpstreamKeys) -> None:
    """An upstream with `entra` authenticates with Microsoft Entra ID tokens, made by
    azure-identity (an optional extra) per request: instead of any other credentials."""
    if upstream.api_key is not None:
        message = "entra authenticates with Microsoft Entra ID tokens; remove api-key"
        result.findings.append(Finding(("upstreams", name, "api-key"), message, "delete the api-key line, or entra"))
    if isinstance(upstream, AnthropicUpstream) and upstream.vertex is not None:
        message = "entra (Azure AI Foundry) and vertex (Google Cloud) name different clouds"
        result.findings.append(Finding(("upstreams", name, "entra"), message, "keep one of them"))
    if not azure_identity_installed():
        _off_or_error(name, upstream, result, Finding(
            ("upstreams", name, "entra"), "entra needs azure-identity",
            "pip install 'router[azure]' (or pip install azure-identity)"))


def _azure_without_credentials(name: str) -> Finding:
    message = "an azure upstream needs api-key or entra"
    fix = f'add api-key = "env:{_variable_for(name)}", or entra = {{}} for Microsoft Entra ID tokens'
    return Finding(("upstreams", name), message, fix)


def azure_identity_installed() -> bool:
    """Whether azure-identity can be imported, without importing it (only
    router.upstream.azure_credentials does, when a token is needed)."""
    try:
        return importlib.util.find_spec("azure.identity") is not None
    except ModuleNotFoundError:  # no `azure` namespace package at all
        return False


def _off_or_error(name: str, upstream: Upstream, result: UpstreamKeys, finding: Finding) -> None:
    """An optional upstream that cannot work here is left out (a warning); any other, an error."""
    if upstream.optional:
        result.disabled.add(name)
        finding = Finding(finding.path, f"{finding.message}: this optional upstream is off", finding.fix, "warning")
    result.findings.append(finding)


def botocore_installed() -> bool:
    """Whether botocore can be imported, without importing it (it is heavy, and only
    router.upstream.aws_credentials and the Bedrock stream reader use it)."""
    return importlib.util.find_spec("botocore") is not None


def google_auth_installed() -> bool:
    """Whether google-auth can be imported, without importing it (config imports no client
    library; router.upstream.google_credentials does, when a token is needed)."""
    try:
        return importlib.util.find_spec("google.auth") is not None
    except ModuleNotFoundError:  # no `google` namespace package at all
        return False


def _unset(variable: str, path: SchemaPath, users: Sequence[str], *, optional: bool) -> Finding:
    if optional:
        message = f"{variable} is not set: this optional upstream is off"
        return Finding(path, message, f"export {variable}=... to enable it", "warning")
    message = f"environment variable {variable} is not set{_used_by(users)}"
    return Finding(path, message, f"export {variable}=... or mark the upstream optional = true")


def _used_by(routes: Sequence[str]) -> str:
    if not routes:
        return ""
    noun = "route" if len(routes) == 1 else "routes"
    names = ", ".join(f'"{name}"' for name in routes)
    return f" (needed by {noun} {names})"


def _add_env_key(
    entry: str, path: SchemaPath, environ: Mapping[str, str], hashes: dict[str, str],
    findings: list[Finding],
) -> None:
    resolved = _env_key(entry, path, environ, findings)
    if resolved is not None:
        variable, digest = resolved
        hashes[digest] = variable


def _env_key(
    entry: str, path: SchemaPath, environ: Mapping[str, str], findings: list[Finding]
) -> tuple[str, str] | None:
    """(variable, sha256 of its value), or None with a finding saying why not."""
    admin = path[:2] == ("auth", "admin-keys")
    variable = parse_env_ref(entry)
    if variable is None:
        what, example = ("an admin key", "ROUTER_ADMIN_KEY") if admin else ("a client key", "ROUTER_KEY")
        findings.append(_literal_secret(path, what, example))
        return None
    value = environ.get(variable) or None
    if value is None:
        fix = f"export {variable}=... or remove it from {format_path(path[:2])}"
        findings.append(Finding(path, f"environment variable {variable} is not set", fix))
        return None
    return variable, hashlib.sha256(value.encode()).hexdigest()


def _add_hash(entry: KeyHash, path: SchemaPath, hashes: dict[str, str], findings: list[Finding]) -> None:
    assert entry.sha256 is not None
    if _SHA256_HEX.fullmatch(entry.sha256) is None:
        message = f'sha256 of key "{entry.name}" is not 64 hex digits'
        fix = "use the output of: printf %s \"$KEY\" | sha256sum"
        findings.append(Finding((*path, "sha256"), message, fix))
        return
    hashes[entry.sha256.lower()] = entry.name


def _literal_secret(path: SchemaPath, what: str, example: str) -> Finding:
    """A secret written into the file. The value is deliberately not part of the message."""
    message = f"{what} is not an environment reference (value not shown: it may be a secret)"
    fix = f'secrets come from the environment; use env:NAME (e.g. "env:{example}")'
    return Finding(path, message, fix)


def _variable_for(name: str) -> str:
    """A plausible variable name for an upstream's key, for the example in a fix."""
    return re.sub(r"[^A-Z0-9_]", "_", name.upper()) + "_API_KEY"
