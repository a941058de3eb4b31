"""Billing contexts, principals and the operations generated from the catalog.

Nothing here names an operation: every method of a principal is made from
billing_catalog_json() when the Billing is opened ("customers.create"
becomes principal.customers.create(name=..., email=...)), and every call goes
through billing_call_json. An operation the library adds later appears here
without a change to this file.

Threads: the library context is thread-safe and ctypes releases the GIL
during the C call, so any number of threads may call at once. close() waits
for calls in flight (a counter under a condition variable) and refuses new
ones, so a context is never closed under a running call.
"""
import ctypes
import datetime
import decimal
import inspect
import json
import keyword
import re
import threading

from . import _lib, errors

CATALOG_VERSION = 1  # the catalog format this binding understands


class _Unset:
    """Default of an optional argument: the field is left out of the input
    (None is sent as JSON null, which clears a nullable field)."""

    def __repr__(self):
        return "<unset>"


UNSET = _Unset()


def snake_case(name):
    """The Python name of a catalog name: "invoicePrefix" -> "invoice_prefix"."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return s + "_" if keyword.iskeyword(s) else s


def camel_case(name):
    """The wire name of a Python name: "amount_due" -> "amountDue"."""
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


_camel = {}  # snake -> camel, filled as names are looked up (a few dozen)


def _wire(name):
    c = _camel.get(name)
    if c is None:
        c = _camel[name] = camel_case(name.rstrip("_") if keyword.iskeyword(name[:-1])
                                      else name)
    return c


class Result(dict):
    """A decoded JSON object returned by an operation: a resource, a list
    page, a nested object (an invoice line), or {"id", "deleted": True}.

    It is the wire's dict (camelCase keys, what json.dumps and iteration
    see) that also reads like an object with snake_case names:

        inv.amount_due == inv["amountDue"] == inv["amount_due"]
        inv.lines[0].unit_amount           # nested objects and lists too

    A name that is neither is an AttributeError (KeyError for []). Equality
    is the content's (a Result equals the dict of the same JSON); metadata
    stays a plain dict of the caller's own keys. to_dict() is plain JSON
    data (decimals as exact strings): json.dumps(r.to_dict()).

    `replayed` is True when a call with an idempotency key was answered as a
    replay of an earlier call, False when it was not, None without a key."""
    replayed = None

    def __getattr__(self, name):
        # Only reached when normal lookup failed: dict methods win over fields.
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return dict.__getitem__(self, name)
        except KeyError:
            pass
        try:
            return dict.__getitem__(self, _wire(name))
        except KeyError:
            raise AttributeError("%s has no field %r (fields: %s)" % (
                self._kind(), name, ", ".join(snake_case(k) for k in self))) from None

    def __setattr__(self, name, value):
        # r.email = ... would hide the field behind an attribute the dict
        # (and json) never sees: fields change through [] only.
        if name != "replayed":
            raise AttributeError("results are read through attributes; set %s[%r] "
                                 "to change the dict" % (self._kind(), name))
        object.__setattr__(self, name, value)

    def __getitem__(self, key):
        try:
            return dict.__getitem__(self, key)
        except KeyError:
            if isinstance(key, str) and "_" in key:
                wire = _wire(key)
                if wire != key and dict.__contains__(self, wire):
                    return dict.__getitem__(self, wire)
            raise

    def __contains__(self, key):
        return dict.__contains__(self, key) or (
            isinstance(key, str) and "_" in key and dict.__contains__(self, _wire(key)))

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __dir__(self):
        return sorted(set(dir(type(self))) | {snake_case(k) for k in self
                                               if isinstance(k, str)})

    def _kind(self):
        obj = dict.get(self, "object")
        if isinstance(obj, str) and obj:
            return "Page" if obj == "list" else "".join(p.capitalize() for p in obj.split("_"))
        return "Result"

    def __repr__(self):
        kind = self._kind()
        fields = ", ".join("%s=%r" % (snake_case(k), v) for k, v in self.items()
                           if not (k == "object" and kind != "Result"))
        return "%s(%s)" % (kind, fields)

    def to_dict(self):
        """A deep copy as plain JSON data: dicts with the wire's camelCase
        keys, lists, str, int, bool, None; decimals (taxRate) as exact
        strings, which the library also accepts as input."""
        return _plain(self)


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, decimal.Decimal):
        return str(v)
    return v


def _wrap(obj):
    """A decoded object as Results all the way down, except metadata (the
    caller's own keys). Most fields are scalars: copied at C speed by
    Result(obj), only objects and lists are visited (this runs on every
    call)."""
    r = Result(obj)
    for k, v in obj.items():
        t = type(v)
        if t is dict:
            if k != "metadata":
                r[k] = _wrap(v)
        elif t is list:
            r[k] = _wrap_list(v)
    return r


def _wrap_list(items):
    return [_wrap(v) if type(v) is dict else _wrap_list(v) if type(v) is list else v
            for v in items]


# ------------------------------------------------------------ the catalog


class Operation:
    """One catalog entry, with what the generated method needs."""

    def __init__(self, entry):
        self.name = entry["name"]
        self.name_bytes = self.name.encode("ascii")
        self.path = [snake_case(p) for p in self.name.split(".")]
        self.mutating = bool(entry.get("mutating"))
        self.roles = list(entry.get("roles", []))
        self.description = entry.get("description", "")
        self.fields = list(entry.get("input", []))
        self.by_kwarg = {}
        for f in self.fields:
            py = snake_case(f["name"])
            if py in self.by_kwarg or (self.mutating and py == "idempotency_key"):
                raise RuntimeError("catalog: %s has two inputs named %s in Python"
                                   % (self.name, py))
            self.by_kwarg[py] = f["name"]
        self.required = [snake_case(f["name"]) for f in self.fields if f.get("required")]
        self.takes_id = "id" in self.by_kwarg
        # Keyset-pageable: the list takes a cursor. Known from the input, not
        # from the name, so a new list operation is paged like the others.
        self.pageable = "startingAfter" in (f["name"] for f in self.fields)
        self.signature = self._signature()
        self.doc = self._doc()

    def _signature(self):
        P = inspect.Parameter
        params = []
        for f in self.fields:
            py = snake_case(f["name"])
            kind = P.POSITIONAL_OR_KEYWORD if py == "id" else P.KEYWORD_ONLY
            default = P.empty if f.get("required") else UNSET
            params.append(P(py, kind, default=default))
        if self.mutating:
            params.append(P("idempotency_key", P.KEYWORD_ONLY, default=None))
        # id (positional) first, then the keyword-only ones in catalog order.
        params.sort(key=lambda p: p.kind)
        return inspect.Signature(params)

    def _doc(self):
        lines = [self.description, "",
                 "Operation %s; roles: %s." % (self.name, ", ".join(self.roles) or "none")]
        if self.pageable:
            lines.append("Returns an iterator over every item of every page; "
                         ".page(...) returns one page.")
        if self.fields:
            lines += ["", "Arguments:"]
        for f in self.fields:
            lines.append("  %s (%s%s%s): %s" % (
                snake_case(f["name"]), f.get("type", "?"),
                ", required" if f.get("required") else "",
                ", nullable" if f.get("nullable") else "", f.get("description", "")))
        if self.mutating:
            lines.append("  idempotency_key (string): makes the call safe to retry")
        return "\n".join(lines)

    def bind(self, args, kwargs):
        """The JSON input object and the idempotency key of one call."""
        data = {}
        if args:
            if len(args) > 1 or not self.takes_id:
                raise TypeError("%s() takes %s positional argument%s" % (
                    self.name, "only the id as" if self.takes_id else "no",
                    "" if self.takes_id else "s"))
            data["id"] = args[0]
        key = kwargs.pop("idempotency_key", None) if self.mutating else None
        for k, v in kwargs.items():
            wire = self.by_kwarg.get(k)
            if wire is None:
                raise TypeError("%s() got an unexpected keyword argument %r" % (self.name, k))
            if wire in data:
                raise TypeError("%s() got multiple values for argument %r" % (self.name, k))
            if v is not UNSET:
                data[wire] = v
        for r in self.required:
            if self.by_kwarg[r] not in data:
                raise TypeError("%s() missing required argument %r" % (self.name, r))
        return data, key


_catalogs = {}
_catalogs_lock = threading.Lock()


def _load_catalog(lib):
    """(raw catalog, {name: Operation}, namespace tree) for a library handle."""
    with _catalogs_lock:
        if id(lib) in _catalogs:
            return _catalogs[id(lib)]
        out = ctypes.c_void_p()
        rc = lib.billing_catalog_json(ctypes.byref(out))
        text = _lib.take_string(lib, out)
        if rc < 0 or text is None:
            raise errors.OutOfMemory(rc, "BILLING_ENOMEM", "out_of_memory",
                                     "cannot read the operation catalog")
        raw = json.loads(text)
        if raw.get("version") != CATALOG_VERSION:
            raise RuntimeError("the library's operation catalog has version %r; this "
                               "binding reads version %d" % (raw.get("version"), CATALOG_VERSION))
        ops, tree = {}, {}
        for entry in raw["operations"]:
            op = Operation(entry)
            ops[op.name] = op
            node = tree
            for part in op.path[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise RuntimeError("catalog: %s is both an operation and a group" % part)
            if op.path[-1] in node:
                raise RuntimeError("catalog: %s clashes with another operation" % op.name)
            node[op.path[-1]] = op
        _catalogs[id(lib)] = (raw, ops, tree)
        return _catalogs[id(lib)]


def _json_default(v):
    if isinstance(v, decimal.Decimal):
        return str(v)  # exact: the library reads decimals from strings too
    raise TypeError("%s is not JSON serializable" % type(v).__name__)


# Made once: json.dumps/loads with options build a new coder per call.
_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default)
_decoder = json.JSONDecoder(parse_float=decimal.Decimal)  # taxRate stays exact


def _encode(data):
    return _encoder.encode(data).encode("utf-8")


# ------------------------------------------------------- the context


class Billing:
    """An open libbilling context on one database.

        b = Billing("sqlite:billing.db")        # or "postgres://..."
        platform = b.as_principal(role="PLATFORM")
        tenant = platform.tenants.create(name="Acme")
        acme = b.as_principal(tenant=tenant["id"], role="ADMIN")

    The URL is what billing_ctx_open_url takes. migrate=True (the default)
    applies pending migrations; pass False where another role migrates
    (PostgreSQL with the two-role setup of docs/postgres.md).
    provider="test" collects invoices with the library's deterministic test
    provider (payment method tokens such as "pm_card_visa" succeed and
    "pm_card_chargeDeclined" is declined; see billing/providers.h); None
    (the default) configures no provider, and paying an invoice is then a
    Conflict ("no_provider").
    """

    def __init__(self, url, *, migrate=True, library=None, provider=None):
        self._lib = lib = _lib.load(library)
        self._raw_catalog, self._ops, self._tree = _load_catalog(lib)
        self._cond = threading.Condition(threading.Lock())  # not reentrant: cheaper
        self._inflight = 0
        self._closing = False
        self._ctx = None
        ctx = ctypes.c_void_p()
        opts = self._provider_options(provider)
        rc = lib.billing_ctx_open_url(ctypes.byref(ctx), url.encode("utf-8"),
                                      ctypes.byref(opts) if opts else None)
        if rc < 0:
            exc = errors.from_last(lib, rc)
            if opts:  # the context did not take it
                ctypes.cast(opts.provider, ctypes.POINTER(_lib.ProviderHead)).contents.free(
                    opts.provider)
            raise exc
        if migrate:
            rc = lib.billing_migrate(ctx)
            if rc < 0:
                exc = errors.from_last(lib, rc)
                lib.billing_ctx_close(ctx)
                raise exc
        self._ctx = ctx

    def _provider_options(self, provider):
        if provider is None:
            return None
        if provider != "test":
            raise ValueError("provider must be None or \"test\", not %r" % (provider,))
        p = ctypes.c_void_p()
        topts = _lib.TestProviderOptions(_lib.TEST_PROVIDER_OPTIONS_VERSION, None)
        rc = self._lib.billing_test_provider_new(ctypes.byref(p), ctypes.byref(topts))
        if rc < 0:
            raise errors.from_last(self._lib, rc)
        return _lib.CtxOptions(version=_lib.CTX_OPTIONS_VERSION, provider=p)

    # -- lifetime

    def close(self):
        """Waits for calls in flight, then closes the context. New calls fail
        with ValueError from the moment close() starts. Idempotent."""
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._cond.wait_for(lambda: self._inflight == 0)
            ctx, self._ctx = self._ctx, None
        if ctx is not None:
            self._lib.billing_ctx_close(ctx)

    @property
    def closed(self):
        return self._closing

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # Nothing can be in flight: every call holds a reference to self.
        try:
            if getattr(self, "_ctx", None) is not None and not self._closing:
                self._closing = True
                self._lib.billing_ctx_close(self._ctx)
                self._ctx = None
        except Exception:  # interpreter shutdown: modules may be gone
            pass

    def _acquire(self):
        with self._cond:
            if self._closing:
                raise ValueError("operation on a closed Billing")
            self._inflight += 1
            return self._ctx

    def _release(self):
        with self._cond:
            self._inflight -= 1
            if self._inflight == 0 and self._closing:
                self._cond.notify_all()

    # -- what the context offers

    @property
    def catalog(self):
        """The operation catalog as the library exports it (parsed JSON)."""
        return self._raw_catalog

    @property
    def operations(self):
        """The names of every operation, in catalog order."""
        return list(self._ops)

    @property
    def library_version(self):
        return self._lib.billing_version_string().decode()

    def render_hosted_invoice(self, token, format="html"):
        """The document of a hosted invoice link (billing_hosted_invoice_render)
        as bytes, for a request with no principal: token is the last segment
        of an invoice's hostedInvoiceUrl, format "html" or "pdf". Raises
        NotFound, always alike, for a malformed, forged, expired or rotated
        token, a draft or an invoice that is gone."""
        if format not in ("html", "pdf"):
            raise ValueError("format must be 'pdf' or 'html', not %r" % (format,))
        lib = self._lib
        out = ctypes.c_void_p()
        size = ctypes.c_size_t(0)
        ctx = self._acquire()
        try:
            rc = lib.billing_hosted_invoice_render(
                ctypes.byref(out), ctypes.byref(size), ctx, token.encode("utf-8"),
                _lib.DOCUMENT_FORMATS[format])
            if rc < 0:
                raise errors.from_last(lib, rc)
        finally:
            self._release()
        return _lib.take_bytes(lib, out, size.value)

    def as_principal(self, *, role, tenant=None, user=None):
        """A caller bound to this context: tenant id, role ("USER", "ADMIN" or
        "PLATFORM") and optional user id (recorded with changes). The library
        trusts it: authenticating the caller is the host's job."""
        return Principal(self, tenant, role, user)

    def run_due(self, now=None, max_items=None, workers=None):
        """billing_run_due: runs the work due at or before `now` (a datetime,
        UTC seconds, or None for the context's clock), across every tenant,
        with `workers` threads (None or 1: the calling thread; at most 64).
        Returns {"processed", "invoiced", "failed", "remaining"}."""
        if now is None:
            when = 0
        elif isinstance(now, datetime.datetime):
            if now.tzinfo is None:
                raise ValueError("now must be an aware datetime (UTC)")
            when = int(now.timestamp())
        else:
            when = int(now)
        limits = _lib.RunLimits(_lib.RUN_LIMITS_VERSION, max_items or 0, workers or 0)
        report = _lib.RunReport()
        ctx = self._acquire()
        try:
            rc = self._lib.billing_run_due(ctx, when, ctypes.byref(limits), ctypes.byref(report))
            if rc < 0:
                raise errors.from_last(self._lib, rc)
        finally:
            self._release()
        return Result(processed=report.processed, invoiced=report.invoiced,
                      failed=report.failed, remaining=report.remaining)


# ------------------------------------------------------------ principals


class Principal:
    """A caller bound to a Billing. Its attributes are generated from the
    catalog: principal.customers.create(...), principal.invoices.list(...).
    call(name, input) runs any operation by name."""

    def __init__(self, billing, tenant, role, user):
        if role not in _lib.ROLES:
            raise ValueError("role must be one of %s, not %r" % (", ".join(_lib.ROLES), role))
        self.billing = billing
        self.tenant = tenant
        self.role = role
        self.user = user
        # ctypes keeps the encoded strings alive as long as the struct.
        self._struct = _lib.Principal(tenant.encode() if tenant else None,
                                      user.encode() if user else None, _lib.ROLES[role])
        self._who = ctypes.byref(self._struct)  # made once: read-only for the library
        for name, node in billing._tree.items():
            if name in self.__dict__ or hasattr(type(self), name):
                raise RuntimeError("catalog: %r clashes with a Principal attribute" % name)
            setattr(self, name, _member(self, name, node))

    def __repr__(self):
        return "<billing.Principal %s tenant=%s user=%s>" % (self.role, self.tenant, self.user)

    def ingest_usage(self, events, batch_size=1000):
        """Sends usage events (any iterable of dicts) in batches of
        batch_size (1 to 1000, the most usage_events.create takes), one call
        a batch, and returns one answer for all: the tallies added up and
        every event's item in the input's order. A batch that fails raises;
        the batches before it are stored (a resend of them is a
        duplicate)."""
        if not isinstance(batch_size, int) or not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be an integer from 1 to 1000")
        total = {"object": "usage_result", "data": [], "accepted": 0, "duplicates": 0,
                 "refused": 0, "voided": 0}
        batch = []

        def flush():
            r = self._invoke(b"usage_events.create", {"events": batch}, None)
            for k in ("accepted", "duplicates", "refused", "voided"):
                total[k] += r[k]
            total["data"].extend(r["data"])
            batch.clear()

        for e in events:
            batch.append(e)
            if len(batch) == batch_size:
                flush()
        if batch:
            flush()
        return _wrap(total)

    def render_invoice(self, invoice_id, format="pdf", locale=None):
        """The invoice's document (billing_invoice_render) as bytes: format
        "pdf" (application/pdf), "html" (UTF-8 text/html), "cii" (the
        e-invoice of a finalized invoice: UN/CEFACT CII XML of EN 16931,
        UTF-8) or "facturx" (the Factur-X PDF/A-3 of a finalized invoice:
        its PDF with the CII XML attached as factur-x.xml); locale one of
        en-US, en-GB, de-DE, fr-FR, es-ES, ja-JP, None for the customer's
        preferredLocale, else en-US (unused by "cii"). Raises a BillingError
        (NotFound, Invalid with field "locale" or "format" (also reason
        "unsupported_format" from a build without PDF or Factur-X support),
        Conflict for a draft's e-invoice (reason "draft") and for
        "einvoice_incomplete" / "einvoice_unsupported", ...)."""
        return self._render("billing_invoice_render", invoice_id, format, locale,
                            ("pdf", "html", "cii", "facturx"))

    def render_credit_note(self, credit_note_id, format="pdf", locale=None):
        """The credit note's document (billing_credit_note_render) as bytes,
        as render_invoice: "pdf", "html" or "cii" (the e-invoice of an
        issued note, type code 381, naming the invoice it credits; a void
        note is a Conflict with code "credit_note_void"); a credit note has
        no "facturx"."""
        return self._render("billing_credit_note_render", credit_note_id, format, locale,
                            ("pdf", "html", "cii"))

    def _render(self, function, id, format, locale, formats):
        if format not in formats:
            raise ValueError("format must be %s or %r, not %r" % (
                ", ".join(repr(f) for f in formats[:-1]), formats[-1], format))
        billing = self.billing
        lib = billing._lib
        out = ctypes.c_void_p()
        size = ctypes.c_size_t(0)
        ctx = billing._acquire()
        try:
            rc = getattr(lib, function)(
                ctypes.byref(out), ctypes.byref(size), ctx, self._who,
                id.encode("utf-8"), _lib.DOCUMENT_FORMATS[format],
                locale.encode("utf-8") if locale is not None else None)
            if rc < 0:
                raise errors.from_last(lib, rc)
        finally:
            billing._release()
        return _lib.take_bytes(lib, out, size.value)

    def call(self, operation, input=None, *, idempotency_key=None):
        """Runs one operation by name with a JSON-ready dict of camelCase
        fields; returns the decoded result or raises a BillingError."""
        if isinstance(operation, str):
            operation = operation.encode("ascii")
        return self._invoke(operation, input or {}, idempotency_key)

    def _invoke(self, op_name, data, key):
        payload = _encode(data)
        billing = self.billing
        lib = billing._lib
        opts = None
        replayed = None
        if key is not None:
            replayed = ctypes.c_int(0)
            opts = ctypes.byref(_lib.CallOptions(_lib.CALL_OPTIONS_VERSION, key.encode("utf-8"),
                                                 ctypes.pointer(replayed)))
        out = ctypes.c_void_p()
        ctx = billing._acquire()
        try:
            rc = lib.billing_call_json(ctypes.byref(out), ctx, self._who,
                                       op_name, payload, len(payload), opts)
        finally:
            billing._release()
        text = _lib.take_string(lib, out)
        if text is None:
            raise errors.OutOfMemory(rc, "BILLING_ENOMEM", "out_of_memory", "out of memory")
        value = _decoder.decode(text.decode("utf-8"))
        if rc < 0:
            raise errors.from_json(value.get("error", {}) if isinstance(value, dict) else {}, rc)
        if isinstance(value, dict):
            value = _wrap(value)
            if replayed is not None:
                value.replayed = bool(replayed.value)
        return value


def _member(principal, name, node):
    if isinstance(node, Operation):
        return BoundOperation(principal, node)
    return Namespace(principal, name, node)


class Namespace:
    """A group of operations: principal.customers."""

    def __init__(self, principal, name, tree):
        self._name = name
        for k, node in tree.items():
            setattr(self, k, _member(principal, k, node))

    def __repr__(self):
        ops = sorted(k for k in vars(self) if not k.startswith("_"))
        return "<billing operations %s: %s>" % (self._name, ", ".join(ops))


class BoundOperation:
    """One generated method. Calling it runs the operation; for a keyset
    list it returns a Pager that walks every page as it is iterated."""

    def __init__(self, principal, op):
        self._principal = principal
        self._op = op
        self.__signature__ = op.signature
        self.__doc__ = op.doc
        self.__name__ = op.path[-1]

    def __repr__(self):
        return "<billing operation %s%s>" % (self._op.name, self._op.signature)

    def __call__(self, *args, **kwargs):
        data, key = self._op.bind(args, kwargs)
        if self._op.pageable:
            return Pager(self._principal, self._op, data)
        return self._principal._invoke(self._op.name_bytes, data, key)

    def page(self, *args, **kwargs):
        """One page of a list: {"data": [...], "hasMore", "nextCursor", ...}.
        Pass starting_after=page["nextCursor"] for the next one."""
        if not self._op.pageable:
            raise TypeError("%s is not a list" % self._op.name)
        data, _ = self._op.bind(args, kwargs)
        return self._principal._invoke(self._op.name_bytes, data, None)


class Pager:
    """Iterates every item of a list, fetching pages as it goes: by cursor
    (nextCursor -> startingAfter), or page after page when `page` was given.
    Lazy: nothing is called until iteration starts."""

    def __init__(self, principal, op, data):
        self._principal = principal
        self._op = op
        self._data = data

    def __iter__(self):
        for page in self.pages():
            yield from page["data"]

    def pages(self):
        """Iterates the pages themselves."""
        data = dict(self._data)
        while True:
            page = self._principal._invoke(self._op.name_bytes, data, None)
            yield page
            if not page.get("hasMore"):
                return
            if "page" in data:
                data["page"] += 1
            elif page.get("nextCursor"):
                data["startingAfter"] = page["nextCursor"]
            else:
                return
