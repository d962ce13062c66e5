"""`publish`: stage a store's repo folder, verify it, upload what the Hub lacks, tag the release.

```python
publish("data", "owner/chaosdata-quick", dry_run="staged")   # stage + verify only, no token needed
publish("data", "owner/chaosdata-quick")                     # + create_repo, upload_folder, create_tag
```
The token comes from `token=`, `HF_TOKEN` or the login cache (`huggingface_hub.get_token`). It
is passed to the Hub calls and to nothing else: never printed, logged, staged or put in an
error message (messages are scrubbed of it).

Resuming: before uploading, the repo's files are listed (`list_repo_tree`) and compared with
the staged ones (LFS SHA-256, or the git blob id of small files); `upload_folder` gets only the
missing or changed paths (`allow_patterns`), so a rerun after an interruption sends only what
the Hub lacks, and a rerun of a complete upload commits nothing. (`upload_folder` in
huggingface_hub >= 1.20 also resumes by itself when `hf_xet` is installed; this does not rely on it.)
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaosdata import validate
from chaosdata.errors import InvalidInputError
from chaosdata.files import file_entry
from chaosdata.publish.errors import PublishError
from chaosdata.publish.stage import STAGED_INDEX, Contents, StageReport, stage, staged_index
from chaosdata.publish.verify import unstaged_files, verify_staged
from chaosdata.store.reader import Store, open_store
from chaosdata.version import __version__

REPO_ID = re.compile(r"^(?P<owner>[A-Za-z0-9][A-Za-z0-9_.-]{0,94})/(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,94})$")
REPO_TYPE = "dataset"


@dataclass(frozen=True)
class PublishReport:
    """What `publish` did: the staged folder, what it uploaded (paths), the tag, the repo URL."""

    repo_id: str
    staged: Path
    stage: StageReport | None
    uploaded: tuple[str, ...] = ()
    skipped: int = 0  # staged files already on the Hub with the same content
    tag: str | None = None
    dry_run: bool = False
    url: str | None = None
    problems: tuple[str, ...] = field(default=())


def parse_repo_id(repo_id: Any) -> str:
    """`owner/name` as the Hub accepts it, or `InvalidInputError` saying what is wrong."""
    repo_id = validate.text(repo_id, "repo_id", hint="OWNER/NAME, e.g. 'my-user/chaosdata-quick'")
    if not REPO_ID.match(repo_id) or "--" in repo_id or ".." in repo_id or repo_id.endswith((".git", ".")):
        raise InvalidInputError(
            f"repo_id must be OWNER/NAME (letters, digits, '-', '_', '.'; no '--' or '..'; at most 96 "
            f"characters each), e.g. 'my-user/chaosdata-quick'; got {repo_id!r}")
    return repo_id


# what git refuses in a tag name (git check-ref-format): spaces and control characters,
# ~ ^ : ? * [ \, "..", "@{" and "//"
_TAG_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def default_tag(store: Store) -> str:
    """The release tag: chaosdata version, config name and the config hash's first 12 digits.
    The config name (free text) enters with every run of characters git refuses as one '-'."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", store.config.name).strip("-.") or "release"
    return check_tag(f"v{__version__}-{name}-{store.manifest['config_hash'][:12]}")


def check_tag(tag: str) -> str:
    """`tag` if git accepts it as a tag name, else an `InvalidInputError` naming the rule."""
    tag = validate.text(tag, "tag", hint="a git tag name")
    if _TAG_FORBIDDEN.search(tag) or tag.startswith(("-", "/", ".")) or tag.endswith((".", "/", ".lock")) or "/." in tag:
        raise InvalidInputError(f"tag {tag!r} is not a valid git tag name (no spaces, control characters, "
                                "'~^:?*[\\', '..', '@{' or '//'; not starting with '-', '.' or '/'; not ending "
                                "with '.', '/' or '.lock'); choose another tag")
    return tag


def resolve_token(token: str | None) -> str:
    """`token`, else `HF_TOKEN`, else the login cache; `PublishError` when there is none."""
    if token:
        return token
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise PublishError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (a token with write "
                           "access); nothing was uploaded. `--dry-run DIR` stages without one.")
    return found


def git_blob_id(path: Path) -> str:
    """The git object id of a file (what the Hub reports as `blob_id` for a non-LFS file)."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def missing_files(api: Any, repo_id: str, root: Path, files: dict[str, dict[str, Any]], *, revision: str | None,
                  token: str) -> list[str]:
    """Staged paths that the repo lacks or holds with other content."""
    remote = {}
    for entry in api.list_repo_tree(repo_id, recursive=True, revision=revision, repo_type=REPO_TYPE, token=token):
        if hasattr(entry, "blob_id"):  # a file, not a folder
            remote[entry.path] = entry
    missing = []
    for rel, meta in files.items():
        have = remote.get(rel)
        if have is None or have.size != meta["size"]:
            missing.append(rel)
        elif getattr(have, "lfs", None) is not None:
            if have.lfs.sha256 != meta["sha256"]:
                missing.append(rel)
        elif have.blob_id != git_blob_id(root / rel):
            missing.append(rel)
    return missing


def _scrub(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text


def _hub_call(what: str, token: str | None, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """Run one Hub call; turn its failures into `PublishError`s that never show the token."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    try:
        return fn(*args, **kwargs)
    except OfflineModeIsEnabled as err:
        raise PublishError(f"{what}: HF_HUB_OFFLINE is set, so the Hub cannot be reached ({_scrub(str(err), token)}); "
                           "unset it to publish. The staged folder is kept; rerun to resume.") from None
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        # one line: the client's own message spans several (URL, a documentation link, the Hub's words)
        detail = " ".join((getattr(err, "server_message", None) or str(err).strip() or "no message").split())
        hint = ("the token was refused or lacks write access to this repo: check HF_TOKEN or `hf auth login`"
                if status in (401, 403) else "see the Hub's message")
        raise PublishError(f"{what} failed (HTTP {status}): {_scrub(detail, token)}; {hint}. "
                           "Rerun to resume: files already on the Hub are not sent again.") from None
    # every other error is raised again: as a PublishError when it is a network failure of any HTTP
    # client or when its message holds the token (scrubbed), else as it is
    except Exception as err:
        if not _is_network_error(err):
            if token and token in str(err):
                raise PublishError(f"{what} failed: {type(err).__name__}: {_scrub(str(err), token)}") from None
            raise
        raise PublishError(f"{what}: cannot reach the Hugging Face Hub ({type(err).__name__}: "
                           f"{_scrub(str(err), token)}); check the network. Rerun to resume: files already "
                           "on the Hub are not sent again.") from None


def _is_network_error(err: BaseException) -> bool:
    """A connection, DNS or timeout failure (builtin, or an httpx-style transport error)."""
    names = {c.__name__ for c in type(err).__mro__}
    return isinstance(err, (ConnectionError, TimeoutError)) or bool(
        names & {"TransportError", "TimeoutException", "NetworkError", "ConnectError"})


def default_staging(repo_id: str) -> Path:
    """Where `publish` stages when no folder is given: `$CHAOSDATA_CACHE/publish/<owner>--<name>`."""
    cache = Path(os.environ.get("CHAOSDATA_CACHE", Path.home() / ".cache" / "chaosdata"))
    return cache / "publish" / repo_id.replace("/", "--")


def publish(store: Store | str | os.PathLike, repo_id: str, *, contents: Contents | None = None,
            revision: str | None = None, tag: str | None = None, private: bool = False,
            dry_run: str | os.PathLike | None = None, staging: str | os.PathLike | None = None,
            restage: bool = True, token: str | None = None, api: Any = None, log: Any = None) -> PublishReport:
    """Stage `contents` of `store` (a `Contents`: systems, results, HDF5, dataset_info, workers;
    default every system), verify, and (unless `dry_run`) upload them to the dataset repo `repo_id`.

    `dry_run`: stage into this folder, verify, and stop (no token, no network). Otherwise the
    folder is `staging` (default `default_staging(repo_id)`), kept between runs so that a rerun
    re-stages cheaply and uploads only what is missing. `api`: an `HfApi` (default `HfApi()`, whose
    endpoint is `HF_ENDPOINT`: the tests point it at `chaosdata.publish.loopback`); `tag` defaults to
    `default_tag(store)`. `restage=False` uploads the staging folder as it is (after verifying it
    again), e.g. to resume an interrupted upload at once. Raises `InvalidInputError` for a
    malformed repo id, `PublishError` for no token, no network, a store or staging that fails
    verification (then nothing is uploaded), or a refused upload.
    """
    log = log or (lambda msg: None)
    repo_id = parse_repo_id(repo_id)
    store = store if isinstance(store, Store) else open_store(store)
    tag = check_tag(tag) if tag is not None else default_tag(store)  # before anything is staged or uploaded
    secret = None if dry_run is not None else resolve_token(token)
    folder = Path(dry_run if dry_run is not None else (staging or default_staging(repo_id)))
    if restage:
        report = stage(store, folder, repo_id=repo_id, contents=contents, log=log)
    else:
        index = staged_index(folder)
        if index["config_hash"] != store.manifest["config_hash"]:
            raise PublishError(f"the staging folder {folder} holds release config {index['config_hash'][:12]}, "
                               f"not this store's {store.manifest['config_hash'][:12]}; stage again (drop --no-restage)")
        report = None
    log(f"verifying the staged folder {folder}")
    problems = verify_staged(folder, secrets=[secret] if secret else [])
    if problems:
        raise PublishError(f"the staged folder {folder} fails verification: {problems[0]} ({len(problems)} "
                           "problem(s)); nothing was uploaded.")
    if extra := unstaged_files(folder):
        log(f"left out of the upload, as chaosdata did not stage them: {', '.join(extra[:5])}"
            + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
            + " (they stay in the folder; upload your own files with huggingface_hub)")
    if dry_run is not None:
        return PublishReport(repo_id, folder, report, dry_run=True)

    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    url = _hub_call("create_repo", secret, api.create_repo, repo_id, repo_type=REPO_TYPE, private=private,
                    exist_ok=True, token=secret)
    files = dict(staged_index(folder)["files"])
    files[STAGED_INDEX] = file_entry(folder / STAGED_INDEX)
    todo = _hub_call("listing the repo's files", secret, missing_files, api, repo_id, folder, files,
                     revision=revision, token=secret)
    if todo:
        log(f"uploading {len(todo)} of {len(files)} files to {repo_id}")
        _hub_call("upload_folder", secret, api.upload_folder, repo_id=repo_id, folder_path=str(folder),
                  repo_type=REPO_TYPE, revision=revision, allow_patterns=todo, token=secret,
                  commit_message=f"chaosdata {store.config.name} release (config {store.manifest['config_hash'][:12]})",
                  commit_description=f"Staged by chaosdata {__version__}: {len(todo)} file(s).")
    else:
        log(f"{repo_id} already holds all {len(files)} staged files; nothing to upload")
    _hub_call("create_tag", secret, api.create_tag, repo_id, tag=tag, revision=revision, repo_type=REPO_TYPE,
              token=secret, exist_ok=True,
              tag_message=f"chaosdata {__version__}, release config {store.config.name} {store.manifest['config_hash']}")
    return PublishReport(repo_id, folder, report, tuple(todo), len(files) - len(todo), tag,
                         url=str(url) if url is not None else None)
