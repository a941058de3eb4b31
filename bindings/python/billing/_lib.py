"""Loading libbilling and declaring the few C functions the binding calls.

The binding reaches the library through one generic call, billing_call_json,
plus what that call cannot do: open and migrate a context, close it, read
the catalog, run the due work and read the last error. Structs are mirrored
field for field from the public headers (principal.h, common.h, errors.h,
run.h); they only grow at their end, gated by their version member, so a
mirror of an older version stays valid against a newer library.
"""
import ctypes
import ctypes.util
import glob
import os
import threading

# --------------------------------------------------------------- structs


class Principal(ctypes.Structure):
    """billing_principal (principal.h). Strings are borrowed for the call."""
    _fields_ = [
        ("tenant_id", ctypes.c_char_p),
        ("user_id", ctypes.c_char_p),
        ("role", ctypes.c_int),  # billing_role, an enum: int-sized
    ]


CALL_OPTIONS_VERSION = 2


class CallOptions(ctypes.Structure):
    """billing_call_options (common.h), version 2."""
    _fields_ = [
        ("version", ctypes.c_uint),
        ("idempotency_key", ctypes.c_char_p),
        ("replayed", ctypes.POINTER(ctypes.c_int)),
    ]


class FieldError(ctypes.Structure):
    """billing_field_error (errors.h)."""
    _fields_ = [("field", ctypes.c_char_p), ("message", ctypes.c_char_p)]


class Error(ctypes.Structure):
    """billing_error (errors.h): the calling thread's last failure."""
    _fields_ = [
        ("code", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("reason", ctypes.c_char_p),
        ("message", ctypes.c_char_p),
        ("field", ctypes.c_char_p),
        ("field_error_count", ctypes.c_size_t),
        ("field_errors", ctypes.POINTER(FieldError)),
        ("provider_code", ctypes.c_char_p),
        ("resource_id", ctypes.c_char_p),
    ]


RUN_LIMITS_VERSION = 2


class RunLimits(ctypes.Structure):
    """billing_run_limits (run.h), version 2."""
    _fields_ = [("version", ctypes.c_uint), ("max_items", ctypes.c_uint),
                ("workers", ctypes.c_uint)]


class RunReport(ctypes.Structure):
    """billing_run_report (run.h)."""
    _fields_ = [
        ("processed", ctypes.c_int64),
        ("invoiced", ctypes.c_int64),
        ("failed", ctypes.c_int64),
        ("remaining", ctypes.c_int64),
    ]


CTX_OPTIONS_VERSION = 2  # the first with `provider`


class CtxOptions(ctypes.Structure):
    """billing_ctx_options (ctx.h), version 2. Only `provider` is set here."""
    _fields_ = [
        ("version", ctypes.c_uint),
        ("storage", ctypes.c_void_p),
        ("clock", ctypes.c_void_p),
        ("clock_payload", ctypes.c_void_p),
        ("logger", ctypes.c_void_p),
        ("logger_payload", ctypes.c_void_p),
        ("log_level", ctypes.c_int),
        ("default_page_size", ctypes.c_uint),
        ("max_page_size", ctypes.c_uint),
        ("provider", ctypes.c_void_p),
    ]


TEST_PROVIDER_OPTIONS_VERSION = 1


class TestProviderOptions(ctypes.Structure):
    """billing_test_provider_options (providers.h), version 1."""
    _fields_ = [("version", ctypes.c_uint), ("webhook_secret", ctypes.c_char_p)]


class ProviderHead(ctypes.Structure):
    """The start of struct billing_provider (sys/provider.h): enough to free a
    provider that no context took (a failed open leaves it with us)."""
    _fields_ = [
        ("version", ctypes.c_uint),
        ("name", ctypes.c_char_p),
        ("free", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
    ]


# billing_role values (principal.h)
ROLES = {"USER": 1, "ADMIN": 2, "PLATFORM": 3}

# ------------------------------------------------------------- loading

_lock = threading.Lock()
_cache = {}


def _candidates(path):
    """Where to look, in order. An explicit path (argument or BILLING_LIBRARY)
    is the only candidate: a wrong setting must fail, not fall back."""
    if path:
        return [path]
    env = os.environ.get("BILLING_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    found = sorted(glob.glob(os.path.join(here, "libbilling.so*")))
    # The system loader: the SONAME first (what an installed library has).
    found += ["libbilling.so.0"]
    name = ctypes.util.find_library("billing")
    if name:
        found.append(name)
    return found


def _declare(lib):
    c = ctypes
    lib.billing_call_json.argtypes = [
        c.POINTER(c.c_void_p), c.c_void_p, c.POINTER(Principal), c.c_char_p,
        c.c_char_p, c.c_size_t, c.POINTER(CallOptions)]
    lib.billing_call_json.restype = c.c_int
    lib.billing_catalog_json.argtypes = [c.POINTER(c.c_void_p)]
    lib.billing_catalog_json.restype = c.c_int
    lib.billing_free.argtypes = [c.c_void_p]
    lib.billing_free.restype = None
    lib.billing_ctx_open_url.argtypes = [c.POINTER(c.c_void_p), c.c_char_p,
                                         c.POINTER(CtxOptions)]
    lib.billing_ctx_open_url.restype = c.c_int
    lib.billing_test_provider_new.argtypes = [c.POINTER(c.c_void_p),
                                              c.POINTER(TestProviderOptions)]
    lib.billing_test_provider_new.restype = c.c_int
    lib.billing_migrate.argtypes = [c.c_void_p]
    lib.billing_migrate.restype = c.c_int
    lib.billing_ctx_close.argtypes = [c.c_void_p]
    lib.billing_ctx_close.restype = None
    lib.billing_run_due.argtypes = [c.c_void_p, c.c_int64, c.POINTER(RunLimits),
                                    c.POINTER(RunReport)]
    lib.billing_run_due.restype = c.c_int
    lib.billing_invoice_render.argtypes = [
        c.POINTER(c.c_void_p), c.POINTER(c.c_size_t), c.c_void_p, c.POINTER(Principal),
        c.c_char_p, c.c_int, c.c_char_p]
    lib.billing_invoice_render.restype = c.c_int
    lib.billing_credit_note_render.argtypes = lib.billing_invoice_render.argtypes
    lib.billing_credit_note_render.restype = c.c_int
    lib.billing_hosted_invoice_render.argtypes = [
        c.POINTER(c.c_void_p), c.POINTER(c.c_size_t), c.c_void_p, c.c_char_p, c.c_int]
    lib.billing_hosted_invoice_render.restype = c.c_int
    lib.billing_error_last.argtypes = []
    lib.billing_error_last.restype = c.POINTER(Error)
    lib.billing_version_string.argtypes = []
    lib.billing_version_string.restype = c.c_char_p
    return lib


def load(path=None):
    """The loaded library (one handle per path), with its prototypes set."""
    tried = []
    for cand in _candidates(path):
        with _lock:
            if cand in _cache:
                return _cache[cand]
            try:
                lib = ctypes.CDLL(cand)
            except OSError as e:
                tried.append("%s (%s)" % (cand, e))
                continue
            _cache[cand] = _declare(lib)
            return _cache[cand]
    raise OSError("libbilling not found; set BILLING_LIBRARY to the path of "
                  "libbilling.so. Tried: " + "; ".join(tried))


DOCUMENT_FORMATS = {"html": 1, "pdf": 2, "cii": 3, "facturx": 4}   # billing_document_format


def take_bytes(lib, ptr, size):
    """Reads size bytes the library handed over and frees them."""
    try:
        if not ptr.value:
            return None
        return ctypes.string_at(ptr.value, size)
    finally:
        lib.billing_free(ptr)


def take_string(lib, ptr):
    """Reads a string the library handed over and frees it, whatever happens."""
    try:
        if not ptr.value:
            return None
        return ctypes.string_at(ptr.value)
    finally:
        lib.billing_free(ptr)
