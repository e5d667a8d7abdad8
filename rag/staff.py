"""Staff accounts, their login sessions, and the audit log of what they did to the documents.

Accounts live in ``<data_dir>/staff.json`` as salted scrypt hashes (never the password); sessions are
random tokens held in memory (a restart logs everyone out); the audit log is ``<data_dir>/audit.jsonl``,
one JSON object per upload, replace, delete, restore or reindex: who, when, which file, its SHA-256.

Knows nothing of HTTP or Gradio: ``ui.py`` reads the cookie or the Basic credentials and asks here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from pathlib import Path

from . import prompts
from .errors import RagError

# scrypt cost: ~50 ms and 16 MB per check on these CPUs, which also slows password guessing.
_N, _R, _P, _DKLEN = 2**14, 8, 1, 32
_NAME_RE = re.compile(r"^[\w.\-\u4e00-\u9fff]{1,32}$")
MIN_PASSWORD_CHARS = 8


def _scrypt(password: str, salt: bytes, n: int = _N, r: int = _R, p: int = _P) -> bytes:
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p,
                          maxmem=64 * 1024 * 1024, dklen=_DKLEN)


class StaffStore:
    """The staff accounts file. Reads it on every check, so ``rag staff add`` takes effect in a
    running service without a restart."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise RagError(prompts.STAFF_FILE_CORRUPT.format(path=self.path, error=exc)) from exc
        return data.get("accounts", {}) if isinstance(data, dict) else {}

    def _write(self, accounts: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.part")
        tmp.write_text(json.dumps({"format": "staff/1", "accounts": accounts}, ensure_ascii=False, indent=1),
                       encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def names(self) -> list[str]:
        return sorted(self._read())

    def __bool__(self) -> bool:
        return bool(self._read())

    def add(self, name: str, password: str) -> None:
        """Create or reset an account. Raises RagError for a bad name or a short password."""
        if not _NAME_RE.match(name or ""):
            raise RagError(prompts.BAD_ACCOUNT_NAME)
        if len(password or "") < MIN_PASSWORD_CHARS:
            raise RagError(prompts.PASSWORD_TOO_SHORT.format(n=MIN_PASSWORD_CHARS))
        salt = secrets.token_bytes(16)
        entry = {"scheme": "scrypt", "n": _N, "r": _R, "p": _P, "salt": salt.hex(),
                 "hash": _scrypt(password, salt).hex(), "created": time.strftime("%Y-%m-%d %H:%M:%S")}
        with self._lock:
            accounts = self._read()
            accounts[name] = entry
            self._write(accounts)

    def remove(self, name: str) -> None:
        with self._lock:
            accounts = self._read()
            if name not in accounts:
                raise RagError(prompts.NO_SUCH_ACCOUNT.format(name=name))
            del accounts[name]
            self._write(accounts)

    def verify(self, name: str, password: str) -> bool:
        """True when the name exists and the password matches (constant-time comparison; an unknown
        name costs the same scrypt as a known one)."""
        entry = self._read().get(name or "")
        if entry is None:
            _scrypt(password or "", b"\0" * 16)
            return False
        got = _scrypt(password or "", bytes.fromhex(entry["salt"]), entry["n"], entry["r"], entry["p"])
        return hmac.compare_digest(got, bytes.fromhex(entry["hash"]))


class Sessions:
    """Login sessions: random tokens -> (name, expiry), in memory, bounded."""

    def __init__(self, ttl_s: float, max_sessions: int = 10_000, clock=time.monotonic):
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self.clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def create(self, name: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}
            while len(self._tokens) >= self.max_sessions:
                self._tokens.pop(next(iter(self._tokens)))
            self._tokens[token] = (name, now + self.ttl_s)
        return token

    def user(self, token: str | None) -> str | None:
        if not token:
            return None
        with self._lock:
            entry = self._tokens.get(token)
            if entry is None:
                return None
            if entry[1] <= self.clock():
                del self._tokens[token]
                return None
            return entry[0]

    def end(self, token: str | None) -> None:
        with self._lock:
            self._tokens.pop(token or "", None)

    def end_user(self, name: str) -> None:
        """Log a removed account out everywhere."""
        with self._lock:
            self._tokens = {t: v for t, v in self._tokens.items() if v[0] != name}


class LoginThrottle:
    """Failed logins counted per key (an account, a client): ``max_failures`` within ``window_s`` and
    that key is refused until its oldest counted failure ages out. Successes are not counted, so a
    guess can never be confirmed while a key is refused. Bounded: idle keys are forgotten."""

    def __init__(self, max_failures: int, window_s: float, clock=time.monotonic, max_keys: int = 10_000):
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def wait(self, *keys: str) -> float:
        """0 when every key may try now, else the seconds until all of them may."""
        if self.max_failures <= 0:
            return 0.0
        now = self.clock()
        longest = 0.0
        with self._lock:
            for key in keys:
                recent = [t for t in self._failures.get(key, []) if now - t < self.window_s]
                if recent:
                    self._failures[key] = recent
                else:
                    self._failures.pop(key, None)
                if len(recent) >= self.max_failures:
                    longest = max(longest, recent[-self.max_failures] + self.window_s - now)
        return longest

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) >= self.max_keys:
                self._failures = {k: v for k, v in self._failures.items() if v and now - v[-1] < self.window_s}
                while len(self._failures) >= self.max_keys:
                    self._failures.pop(next(iter(self._failures)))
            for key in keys:
                self._failures.setdefault(key, []).append(now)
                del self._failures[key][: -max(1, self.max_failures)]


class AuditLog:
    """Append-only JSON Lines: one line per document operation."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(self, who: str, action: str, file: str = "", sha256: str = "", **extra) -> dict:
        row = {"time": time.strftime("%Y-%m-%d %H:%M:%S"), "who": who, "action": action, "file": file,
               "sha256": sha256, **extra}
        line = json.dumps(row, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
        return row

    def rows(self) -> list[dict]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut by a crash mid-write
        return out
