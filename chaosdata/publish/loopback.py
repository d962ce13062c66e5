"""A Hugging Face Hub look-alike on 127.0.0.1, for tests and for trying a release before publishing.

It serves dataset repos, each a plain folder (a staged repo, or one that `publish` uploads into),
to the real `huggingface_hub`, `datasets` and `HfFileSystem` clients: point `HF_ENDPOINT` at
`hub.url` before `huggingface_hub` is imported (it reads the endpoint at import).

```python
with LoopbackHub(tmp / "repos", token="hf_test") as hub:   # an ephemeral port, a thread
    hub.serve("owner/name", "staged/quick")                  # or POST /api/repos/create
    ...                                                      # clients talk to hub.url
    hub.counts                                               # requests per endpoint kind
```
What it answers (the endpoints `huggingface_hub` 2.4 calls): repo info, tree listing (paginated
as the Hub: 1000 entries a page, 50 with `expand`), paths-info, `resolve` (HEAD and GET, HTTP
Range answered 206), and the write path of `upload_folder`: create repo, preupload (every file
"regular": inline base64 in the commit, no LFS or Xet), NDJSON commit, tags. Errors carry the
Hub's `X-Error-Code` so the client raises its own exception classes. History is not kept: every
known revision (a branch, a tag, a past commit) reads the folder as it is now.
Faults for tests: `rate_limit` (429 with `Retry-After`), `fault` (drop the connection, hang
until `release`, answer a status, or ignore `Range` as a server without range support does: 200
with the whole file) on the requests whose path matches a pattern.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, quote, unquote, urlsplit

import yaml

from chaosdata import validate
from chaosdata.errors import InvalidInputError
from chaosdata.publish.hub import git_blob_id

_REPO = r"(?P<repo>[^/]+/[^/]+)"
_REV = r"(?P<rev>[^/]+)"
# (method, kind, pattern on the raw path): the kind is what `counts` counts
ROUTES = [
    ("GET", "info", re.compile(rf"^/api/datasets/{_REPO}(?:/revision/{_REV})?$")),
    ("GET", "tree", re.compile(rf"^/api/datasets/{_REPO}/tree/{_REV}(?:/(?P<path>.+))?$")),
    ("POST", "paths-info", re.compile(rf"^/api/datasets/{_REPO}/paths-info/{_REV}$")),
    ("HEAD", "resolve HEAD", re.compile(rf"^/datasets/{_REPO}/resolve/{_REV}/(?P<path>.+)$")),
    ("GET", "resolve GET", re.compile(rf"^/datasets/{_REPO}/resolve/{_REV}/(?P<path>.+)$")),
    ("POST", "create", re.compile(r"^/api/repos/create$")),
    ("POST", "validate-yaml", re.compile(r"^/api/validate-yaml$")),
    ("POST", "preupload", re.compile(rf"^/api/datasets/{_REPO}/preupload/{_REV}$")),
    ("POST", "commit", re.compile(rf"^/api/datasets/{_REPO}/commit/{_REV}$")),
    ("POST", "tag", re.compile(rf"^/api/datasets/{_REPO}/tag/{_REV}$")),
]
WRITES = {"create", "preupload", "commit", "tag"}
PAGE, PAGE_EXPANDED = 1000, 50  # the Hub's tree page sizes


class HubError(Exception):
    """An error answer: status, the Hub's `X-Error-Code` (or None), message, extra headers and
    JSON fields (the Hub's 409 to create_repo carries the repo's `url`)."""

    def __init__(self, status: int, code: str | None, message: str, headers: dict[str, str] | None = None,
                 fields: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.code, self.headers, self.fields = status, code, headers or {}, fields or {}


@dataclass
class Fault:
    """Requests whose path matches `pattern` (a regex): the first `after` pass, then `times`
    (None: every one) get `action`: 'drop' (close without an answer), 'hang' (wait for
    `LoopbackHub.release`, then drop), 'no-range' (answer as if no `Range` header came) or an
    HTTP status."""

    pattern: str
    action: str | int
    after: int = 0
    times: int | None = 1
    retry_after: int = 1  # the Retry-After a 429 carries
    seen: int = 0


@dataclass
class Repo:
    root: Path
    commits: list[str] = field(default_factory=lambda: [hashlib.sha1(uuid.uuid4().bytes).hexdigest()])
    tags: dict[str, str] = field(default_factory=dict)
    modified: str = field(default_factory=lambda: _now())
    private: bool = False  # as created (reported, not enforced)

    def resolve(self, rev: str) -> str:
        """The commit sha a revision names (the head for 'main'), or a RevisionNotFound error."""
        if rev == "main":
            return self.commits[-1]
        if rev in self.tags:
            return self.tags[rev]
        if len(rev) >= 7 and any(c.startswith(rev) for c in self.commits):
            return next(c for c in self.commits if c.startswith(rev))
        raise HubError(404, "RevisionNotFound", f"Invalid rev id: {rev}")


def _now() -> str:
    """The time as the Hub writes it (`2026-12-07T10:00:00.000Z`)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class LoopbackHub:
    """The server: `serve` repos, `start` (or `with`), point clients at `url`; `counts` per kind."""

    def __init__(self, root: str | os.PathLike, *, token: str | None = None, sock: socket.socket | None = None):
        self.root = Path(root)  # where POST /api/repos/create makes new repos
        self.token = token  # None: no check; else writes need it and any other token gets 401
        self.repos: dict[str, Repo] = {}
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[str, str, int]] = []  # (method, path, status) of every request answered
        self.faults: list[Fault] = []
        self._oids: dict[tuple[str, int, int], str] = {}
        self._release = threading.Event()
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler, bind_and_activate=sock is None)
        if sock is not None:  # a socket bound earlier (its port is in HF_ENDPOINT already)
            self._server.socket.close()
            self._server.socket = sock
            self._server.server_address = sock.getsockname()
            self._server.server_activate()
        self._server.daemon_threads = True
        self._server.hub = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-hub", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        self._release.set()
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def serve(self, repo_id: str, folder: str | os.PathLike) -> Repo:
        """Serve `folder` as the dataset repo `repo_id` (a fresh head commit; commits write into it)."""
        if not Path(folder).is_dir():
            raise InvalidInputError(f"folder {str(folder)!r} to serve as {repo_id!r} is not a directory")
        with self._lock:
            self.repos[repo_id] = Repo(Path(folder))
            return self.repos[repo_id]

    def reset(self) -> None:
        """Forget repos, counts, faults and the token (between tests)."""
        with self._lock:
            self.repos.clear()
            self.counts.clear()
            self.log.clear()
            self.faults.clear()
            self.token = None
            self._release.clear()

    def rate_limit(self, after: int, *, retry_after: int = 1, times: int = 1) -> None:
        """Answer 429 with `Retry-After: retry_after` to `times` requests after the first `after`."""
        self.fault(".", 429, after=after, times=times, retry_after=retry_after)

    def fault(self, pattern: str, action: str | int, *, after: int = 0, times: int | None = 1,
              retry_after: int = 1) -> Fault:
        """Add a `Fault` (see there); the first one that matches a request acts on it."""
        if isinstance(action, str):
            validate.choice(action, "fault action", ("drop", "hang", "no-range"), hint="or an HTTP error status")
        else:
            validate.count(action, "fault action", minimum=400, maximum=599, hint="an HTTP error status")
        with self._lock:
            self.faults.append(Fault(pattern, action, after, times, retry_after))
            return self.faults[-1]

    def release(self) -> None:
        """Let requests held by a 'hang' fault go (they are then dropped)."""
        self._release.set()

    def _fault_for(self, path: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if re.search(f.pattern, path):
                    f.seen += 1
                    if f.seen > f.after and (f.times is None or f.seen <= f.after + f.times):
                        return f
        return None

    def repo(self, repo_id: str) -> Repo:
        if repo_id not in self.repos:
            raise HubError(404, "RepoNotFound", f"Repository not found: {repo_id}")
        return self.repos[repo_id]

    def check_token(self, auth: str | None, kind: str) -> None:
        if self.token is None:
            return
        if auth is not None and auth != f"Bearer {self.token}":
            raise HubError(401, None, "Invalid credentials in Authorization header")
        if auth is None and kind in WRITES:
            raise HubError(401, None, "You must be authenticated to access this endpoint")

    def oid(self, path: Path) -> str:
        """The git blob id of a file (the Hub's `oid` of a regular file), cached by (path, size, mtime)."""
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        if key not in self._oids:
            self._oids[key] = git_blob_id(path)
        return self._oids[key]

    def entries(self, repo: Repo, path: str, recursive: bool) -> list[dict[str, Any]]:
        """Tree entries (files and folders) below `path`, sorted by path."""
        base = _inside(repo.root, path)
        if not base.is_dir():
            raise HubError(404, "EntryNotFound", f"{path} does not exist on the repo's tree")
        found = base.rglob("*") if recursive else base.iterdir()
        return [self.entry(repo, p) for p in sorted(found) if not p.name.startswith(".tmp-")]

    def entry(self, repo: Repo, p: Path) -> dict[str, Any]:
        rel = p.relative_to(repo.root).as_posix()
        if p.is_dir():
            return {"type": "directory", "oid": hashlib.sha1(rel.encode()).hexdigest(), "size": 0, "path": rel}
        return {"type": "file", "oid": self.oid(p), "size": p.stat().st_size, "path": rel}


def _inside(root: Path, rel: str) -> Path:
    """`root / rel` for a relative path that stays inside `root`, else a 400."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if rel.startswith("/") or ".." in parts:
        raise HubError(400, None, f"invalid path in repo: {rel!r}")
    return root.joinpath(*parts)


def _card_data(text: str) -> dict[str, Any]:
    """The YAML header of a dataset card (what the Hub returns as `cardData`)."""
    match = re.match(r"^---\s*\n(.*?)\n---\s*\n", text, re.DOTALL)
    return (yaml.safe_load(match.group(1)) if match else None) or {}


@dataclass
class Call:
    """One request, parsed: the repo and commit it names (if any), the path in the repo, query, body."""

    hub: LoopbackHub
    repo_id: str
    repo: Repo
    rev: str
    sha: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    raw: str  # the request's path and query as sent
    range: str | None

    def flag(self, name: str) -> bool:
        return self.query.get(name, ["false"])[0].lower() in ("1", "true")


# ---------------------------------------------------------------------- endpoints: (status, headers, body)
def _info(c: Call) -> tuple:
    # `expand` asks for some properties only, as the Hub answers them (`sha` alone needs no listing)
    expand = c.query.get("expand") or c.query.get("expand[]")
    readme = c.repo.root / "README.md"
    card = _card_data(readme.read_text(encoding="utf-8")) if readme.is_file() else {}
    info = {"id": c.repo_id, "author": c.repo_id.split("/")[0], "sha": c.sha, "lastModified": c.repo.modified,
            "private": c.repo.private, "gated": False, "disabled": False, "downloads": 0, "likes": 0,
            "tags": list(card.get("tags") or []), "cardData": card}
    if not expand or "siblings" in expand:
        info["siblings"] = [{"rfilename": e["path"]} for e in c.hub.entries(c.repo, "", True) if e["type"] == "file"]
    return 200, {}, info if not expand else {"id": c.repo_id, **{k: info[k] for k in expand if k in info}}


def _tree(c: Call) -> tuple:
    expand = c.flag("expand")
    entries = c.hub.entries(c.repo, c.path, c.flag("recursive"))
    start, size = int(c.query.get("cursor", ["0"])[0]), PAGE_EXPANDED if expand else PAGE
    page = entries[start:start + size]
    for e in page if expand else ():
        e["lastCommit"] = {"id": c.sha, "title": "loopback", "date": c.repo.modified}
    if start + size >= len(entries):
        return 200, {}, page
    rest = [(k, v) for k, vs in c.query.items() if k != "cursor" for v in vs] + [("cursor", str(start + size))]
    link = urlsplit(c.raw).path + "?" + "&".join(f"{k}={quote(v)}" for k, v in rest)
    return 200, {"Link": f'<{c.hub.url}{link}>; rel="next"'}, page


def _paths_info(c: Call) -> tuple:
    found = [_inside(c.repo.root, p) for p in parse_qs(c.body.decode()).get("paths", [])]
    return 200, {}, [c.hub.entry(c.repo, p) for p in found if p.exists()]


def _resolve(c: Call) -> tuple:
    path = _inside(c.repo.root, c.path)
    if not path.is_file():
        raise HubError(404, "EntryNotFound", f"Entry not found: {c.path}", {"X-Repo-Commit": c.sha})
    size = path.stat().st_size
    headers = {"X-Repo-Commit": c.sha, "ETag": f'"{c.hub.oid(path)}"', "Accept-Ranges": "bytes",
               "Content-Type": "application/octet-stream"}
    span = _byte_range(c.range, size) if c.range else None
    if span is None:
        return 200, headers, (path, (0, size))
    headers["Content-Range"] = f"bytes {span[0]}-{span[1] - 1}/{size}"
    return 206, headers, (path, span)


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """[start, stop) of `bytes=a-b | a- | -n`; None for a header it does not read (whole file)."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        start, stop = max(size - int(last), 0), size
    else:
        start, stop = int(first), min(int(last) + 1, size) if last else size
    if start >= size or start >= stop:
        raise HubError(416, None, f"range {header} outside a file of {size} bytes", {"Content-Range": f"bytes */{size}"})
    return start, stop


def _create(c: Call) -> tuple:
    spec = json.loads(c.body or b"{}")
    if spec.get("type") != "dataset" or not spec.get("organization") or not spec.get("name"):
        raise HubError(400, None, "this loopback Hub holds dataset repos named organization/name only")
    repo_id = f"{spec['organization']}/{spec['name']}"
    url = f"{c.hub.url}/datasets/{repo_id}"
    with c.hub._lock:
        if repo_id in c.hub.repos:
            raise HubError(409, None, "You already created this dataset repo", fields={"url": url})
        folder = c.hub.root / repo_id
        if folder.exists():  # the files of a repo this hub made before a `reset`: a new repo starts empty
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        c.hub.serve(repo_id, folder).private = spec.get("visibility") == "private" or spec.get("private") is True
    return 200, {}, {"url": url, "name": repo_id}


def _validate_yaml(c: Call) -> tuple:
    """The card's YAML header must parse (the Hub checks more: the config schema)."""
    try:
        _card_data(json.loads(c.body)["content"])
    except yaml.YAMLError as err:
        return 400, {}, {"errors": [{"message": f"invalid YAML in the card header: {err}"}], "warnings": []}
    return 200, {}, {"errors": [], "warnings": []}


def _preupload(c: Call) -> tuple:
    """Every file 'regular' (inline in the commit), with the oid of the file the repo holds now."""
    answer = []
    for f in json.loads(c.body)["files"]:
        have = _inside(c.repo.root, f["path"])
        answer.append({"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                       "oid": c.hub.oid(have) if have.is_file() else None})
    return 200, {}, {"files": answer, "commitOid": c.sha}


def _commit(c: Call) -> tuple:
    """Apply an NDJSON commit (a header line, then file and deletion operations) all at once."""
    if c.rev != "main":
        raise HubError(400, None, f"this loopback Hub commits to 'main' only, not {c.rev!r}")
    lines = [json.loads(line) for line in c.body.splitlines() if line.strip()]
    head: dict[str, Any] = next((x["value"] for x in lines if x["key"] == "header"), {})
    writes, deletes = {}, []
    for op in lines:
        if op["key"] == "file":
            writes[_inside(c.repo.root, op["value"]["path"])] = base64.b64decode(op["value"]["content"])
        elif op["key"] in ("deletedFile", "deletedFolder"):
            deletes.append(_inside(c.repo.root, op["value"]["path"]))
        elif op["key"] != "header":
            raise HubError(400, None, f"commit operation {op['key']!r}: this loopback Hub stores every file as a "
                                      "regular git blob (no LFS, no copies)")
    with c.hub._lock:
        if head.get("parentCommit") and not c.repo.commits[-1].startswith(head["parentCommit"]):
            raise HubError(412, None, "A commit has happened since. Please refresh and try again.")
        for path in deletes:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        for path, data in writes.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".tmp-{uuid.uuid4().hex}")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        c.repo.commits.append(hashlib.sha1(c.repo.commits[-1].encode() + c.body).hexdigest())
        c.repo.modified = _now()
    sha = c.repo.commits[-1]
    return 200, {}, {"commitUrl": f"{c.hub.url}/datasets/{c.repo_id}/commit/{sha}", "commitOid": sha,
                     "pullRequestUrl": None}


def _tag(c: Call) -> tuple:
    tag = json.loads(c.body)["tag"]
    with c.hub._lock:
        if tag in c.repo.tags:
            raise HubError(409, None, f"Tag {tag} already exists")
        c.repo.tags[tag] = c.sha
    return 200, {}, {}


ENDPOINTS = {"info": _info, "tree": _tree, "paths-info": _paths_info, "resolve HEAD": _resolve, "resolve GET": _resolve,
             "create": _create, "validate-yaml": _validate_yaml, "preupload": _preupload, "commit": _commit,
             "tag": _tag}


class _Handler(BaseHTTPRequestHandler):
    """HTTP plumbing: route, count, apply faults and the token check, send the answer."""

    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `counts` and `log`
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        hub: LoopbackHub = self.server.hub
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        split = urlsplit(self.path)
        kind, match = next(((k, r.match(split.path)) for verb, k, r in ROUTES if verb == method and r.match(split.path)),
                           ("unknown", None))
        with hub._lock:
            hub.counts[kind] += 1
        fault = hub._fault_for(split.path)
        if fault is not None and fault.action in ("drop", "hang"):
            if fault.action == "hang":
                hub._release.wait(60)
            self.close_connection = True  # no answer at all
            return
        if fault is not None and fault.action == "no-range":
            fault = None
            del self.headers["Range"]
        try:
            if fault is not None:
                raise HubError(int(fault.action), None, f"injected fault {fault.action}",
                               {"Retry-After": str(fault.retry_after)} if fault.action == 429 else {})
            if match is None:
                raise HubError(404, None, f"this loopback Hub has no endpoint {method} {split.path}")
            hub.check_token(self.headers.get("Authorization"), kind)
            status, headers, payload = ENDPOINTS[kind](self._call(hub, kind, match.groupdict(), split.query, body))
        except HubError as err:
            status, headers, payload = err.status, dict(err.headers), {"error": str(err), **err.fields}
            headers["X-Error-Message"] = str(err)
            if err.code:
                headers["X-Error-Code"] = err.code
        with hub._lock:
            hub.log.append((method, self.path, status))
        self._send(method, status, headers, payload)

    def _call(self, hub: LoopbackHub, kind: str, groups: dict[str, str | None], query: str, body: bytes) -> Call:
        repo_id, rev = groups.get("repo") or "", unquote(groups.get("rev") or "main")
        repo = hub.repo(repo_id) if repo_id else Repo(hub.root)  # POST /api/repos/create names no repo
        return Call(hub, repo_id, repo, rev, repo.resolve(rev), unquote(groups.get("path") or ""), parse_qs(query),
                    body, self.path, self.headers.get("Range"))

    def _send(self, method: str, status: int, headers: dict[str, str], payload: Any) -> None:
        if isinstance(payload, tuple):  # (file, [start, stop))
            path, (start, stop) = payload
            with open(path, "rb") as f:
                f.seek(start)
                data = f.read(stop - start)
        else:
            data = json.dumps(payload).encode()
            headers.setdefault("Content-Type", "application/json")
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)
