"""A small JSON-Schema validator (standard library only) for the HTTP suites.

It knows the subset that examples/billing-server's OpenAPI document uses:
type (a name or a list of names), required, properties,
additionalProperties (a boolean or a schema), items, enum, const, nullable,
oneOf/anyOf and $ref (local, "#/..."). Annotations (description, format,
minimum, pattern, ...) are not checked. An unknown keyword that would
constrain the instance is an error, so the document cannot quietly outgrow
the validator.

response_schema() finds the schema of one response (route, method, status,
content type) in the document: the HTTP suite checks every response it
receives against it.
"""
import re

ANNOTATIONS = {"description", "format", "minimum", "maximum", "minLength", "maxLength",
               "pattern", "title", "example", "examples", "default", "deprecated",
               "readOnly", "writeOnly", "minItems", "maxItems"}
KEYWORDS = {"type", "required", "properties", "additionalProperties", "items", "enum",
            "const", "nullable", "oneOf", "anyOf", "$ref"}


def _type_ok(value, name):
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    raise ValueError("unknown type %r in the schema" % name)


def resolve(root, ref):
    if not ref.startswith("#/"):
        raise ValueError("only local $ref are supported: %r" % ref)
    node = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def errors(value, schema, root, where="$"):
    """Every way value fails schema, as a list of "<path>: <problem>"."""
    if schema is True or schema == {}:
        return []
    if schema is False:
        return ["%s: no value is allowed here" % where]
    unknown = set(schema) - KEYWORDS - ANNOTATIONS
    if unknown:
        raise ValueError("the validator does not know %s (at %s)" % (sorted(unknown), where))
    if "$ref" in schema:
        return errors(value, resolve(root, schema["$ref"]), root, where)
    if value is None and schema.get("nullable"):
        return []
    out = []
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(value, n) for n in names):
            return ["%s: %s is not of type %s" % (where, _show(value), "|".join(names))]
    if "const" in schema and value != schema["const"]:
        out.append("%s: %s is not %r" % (where, _show(value), schema["const"]))
    if "enum" in schema and value not in schema["enum"]:
        out.append("%s: %s is not one of %s" % (where, _show(value), schema["enum"]))
    for key in ("oneOf", "anyOf"):
        if key in schema:
            matches = [s for s in schema[key] if not errors(value, s, root, where)]
            if not matches or (key == "oneOf" and len(matches) > 1):
                out.append("%s: %s matches %d of the %s schemas" % (
                    where, _show(value), len(matches), key))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                out.append("%s: %s is required" % (where, name))
        extra = schema.get("additionalProperties", True)
        for name, v in value.items():
            if name in props:
                out += errors(v, props[name], root, "%s.%s" % (where, name))
            elif extra is False:
                out.append("%s: %s is not a documented property" % (where, name))
            elif isinstance(extra, dict):
                out += errors(v, extra, root, "%s.%s" % (where, name))
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            out += errors(v, schema["items"], root, "%s[%d]" % (where, i))
    return out


def _show(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _template_re(template):
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


def find_operation(doc, method, path):
    """The path template and operation of a request path, or (None, None)."""
    path = path.split("?", 1)[0]
    best = None
    for template, item in doc.get("paths", {}).items():
        if _template_re(template).match(path) and method.lower() in item:
            # A literal segment beats a parameter (/v1/invoices/preview).
            score = template.count("{")
            if best is None or score < best[0]:
                best = (score, template, item[method.lower()])
    return (best[1], best[2]) if best else (None, None)


def response_problems(doc, method, path, status, content_type, body, text):
    """What is wrong with one response against the document, as a list of
    strings; [] when it conforms or the route is not in the document."""
    template, op = find_operation(doc, method, path)
    if op is None:
        return []
    responses = op.get("responses", {})
    resp = responses.get(str(status)) or responses.get("%dXX" % (status // 100)) or \
        responses.get("default")
    label = "%s %s -> %d" % (method, template, status)
    if resp is None:
        return ["%s: status %d is not documented (documented: %s)"
                % (label, status, ", ".join(sorted(responses)))]
    if "$ref" in resp:
        resp = resolve(doc, resp["$ref"])
    content = resp.get("content")
    if not content:
        return [] if not text else ["%s: a body where the document has none" % label]
    media = (content_type or "").split(";", 1)[0].strip()
    if media not in content:
        return ["%s: content type %r is not documented (%s)" % (label, media, ", ".join(content))]
    if not media.endswith("json"):
        return []
    schema = content[media].get("schema", {})
    return ["%s: %s" % (label, e) for e in errors(body, schema, doc)]
