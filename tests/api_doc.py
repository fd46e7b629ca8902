#!/usr/bin/env python3
"""api_doc.py - reads docs/api.yaml (OpenAPI 3.0) for tests/cgi/api_doc.sh: lints it, lists its routes and sample calls, validates answers against it.

Usage:
  api_doc.py lint FILE
      Checks that FILE is structurally an OpenAPI 3.0 document, as far as that can be
      told offline: the required top-level keys and no unknown ones, path items,
      operations (responses with descriptions, unique operationIds, declared tags),
      parameters, request bodies, security requirements naming declared schemes, every
      $ref resolving (to the right kind of component), schema keywords and types,
      `required` members that exist, patterns that compile; every example validates
      against its schema, and every required parameter and body has an example (the
      sample calls are made from them). Prints one problem a line; exit 1 if any.
  api_doc.py routes FILE
      "METHOD /path" for every operation, sorted.
  api_doc.py calls FILE
      One sample call per operation, tab-separated: METHOD, path?query (the required
      query parameters with their examples), body (the request body's example as JSON,
      or empty).
  api_doc.py validate FILE METHOD PATH STATUS < BODY
      Validates the JSON answer BODY of METHOD PATH (no query) with STATUS against the
      schema the document gives that status (or its 4XX/5XX range, or default); prints
      the differences; exit 1 if any (or if the status is not documented).
Needs python3 and python3-yaml (Debian packages; ./dev.sh installs them).
"""
import json
import re
import sys

import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
TOP_KEYS = {"openapi", "info", "servers", "paths", "components", "security", "tags", "externalDocs"}
PATH_ITEM_KEYS = set(HTTP_METHODS) | {"$ref", "summary", "description", "servers", "parameters"}
OP_KEYS = {"tags", "summary", "description", "externalDocs", "operationId", "parameters", "requestBody",
           "responses", "callbacks", "deprecated", "security", "servers"}
COMPONENT_KINDS = {"schemas", "responses", "parameters", "examples", "requestBodies", "headers",
                   "securitySchemes", "links", "callbacks"}
SCHEMA_KEYS = {"title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
               "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems",
               "maxProperties", "minProperties", "required", "enum", "type", "allOf", "oneOf", "anyOf",
               "not", "items", "properties", "additionalProperties", "description", "format", "default",
               "nullable", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs", "example",
               "deprecated"}
SCHEMA_TYPES = {"string", "number", "integer", "boolean", "array", "object"}
PARAM_KEYS = {"name", "in", "description", "required", "deprecated", "allowEmptyValue", "style", "explode",
              "allowReserved", "schema", "example", "examples", "content"}
RESPONSE_KEYS = {"description", "headers", "content", "links"}
MEDIA_KEYS = {"schema", "example", "examples", "encoding"}


def ext(key):
    return isinstance(key, str) and key.startswith("x-")


class Doc:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.root = yaml.safe_load(f)
        self.problems = []

    def problem(self, where, what):
        self.problems.append(f"{where}: {what}")

    # ---- $ref ------------------------------------------------------------------------
    def lookup(self, ref):
        """The object a local $ref points at, or raises KeyError."""
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise KeyError(f"not a local reference: {ref!r}")
        node = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise KeyError(f"{ref} does not resolve")
        return node

    def deref(self, obj, kind, where, seen=None):
        """obj with its $ref (into #/components/<kind>/) followed; None after a problem."""
        seen = seen or set()
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            if ref in seen:
                self.problem(where, f"$ref loop at {ref}")
                return None
            seen.add(ref)
            if kind and not str(ref).startswith(f"#/components/{kind}/"):
                self.problem(where, f"$ref {ref} should point into #/components/{kind}/")
            try:
                obj = self.lookup(ref)
            except KeyError as e:
                self.problem(where, e.args[0])
                return None
        return obj

    # ---- lint ------------------------------------------------------------------------
    def lint(self):
        r = self.root
        if not isinstance(r, dict):
            self.problem("document", "not a mapping")
            return self.problems
        for k in r:
            if k not in TOP_KEYS and not ext(k):
                self.problem("document", f"unknown top-level key {k!r}")
        if not re.fullmatch(r"3\.0\.\d+", str(r.get("openapi", ""))):
            self.problem("openapi", f"must be 3.0.x, not {r.get('openapi')!r}")
        info = r.get("info")
        if not isinstance(info, dict):
            self.problem("info", "required (a mapping)")
        else:
            for k in ("title", "version"):
                if not isinstance(info.get(k), str) or not info[k]:
                    self.problem("info", f"{k} is required (a string)")
        for i, s in enumerate(r.get("servers", []) or []):
            if not isinstance(s, dict) or not isinstance(s.get("url"), str):
                self.problem(f"servers[{i}]", "needs a url")
        comps = r.get("components", {}) or {}
        if not isinstance(comps, dict):
            self.problem("components", "not a mapping")
            comps = {}
        for kind, group in comps.items():
            if kind not in COMPONENT_KINDS and not ext(kind):
                self.problem("components", f"unknown kind {kind!r}")
                continue
            if not isinstance(group, dict):
                self.problem(f"components.{kind}", "not a mapping")
                continue
            for name in group:
                if not re.fullmatch(r"[A-Za-z0-9._-]+", str(name)):
                    self.problem(f"components.{kind}", f"invalid name {name!r}")
        schemes = comps.get("securitySchemes", {}) or {}
        for name, s in schemes.items():
            self.lint_scheme(f"components.securitySchemes.{name}", s)
        self.lint_security(r.get("security"), "security", schemes)
        tags = {t.get("name") for t in r.get("tags", []) or [] if isinstance(t, dict)}
        for kind, group in comps.items():
            if not isinstance(group, dict):
                continue
            for name, obj in group.items():
                where = f"components.{kind}.{name}"
                if kind == "schemas":
                    self.lint_schema(obj, where)
                elif kind == "responses":
                    self.lint_response(obj, where)
                elif kind == "parameters":
                    self.lint_parameter(obj, where)
        paths = r.get("paths")
        if not isinstance(paths, dict):
            self.problem("paths", "required (a mapping)")
            paths = {}
        op_ids = {}
        for p, item in paths.items():
            if ext(p):
                continue
            if not str(p).startswith("/"):
                self.problem(f"paths.{p}", "must start with /")
            if not isinstance(item, dict):
                self.problem(f"paths.{p}", "not a mapping")
                continue
            for k in item:
                if k not in PATH_ITEM_KEYS and not ext(k):
                    self.problem(f"paths.{p}", f"unknown key {k!r}")
            common = item.get("parameters", []) or []
            for m in HTTP_METHODS:
                if m in item:
                    self.lint_operation(p, m, item[m], common, op_ids, tags, schemes)
        self.lint_refs(r, "document")
        return self.problems

    def lint_refs(self, node, where):
        """Every $ref anywhere resolves (examples' values aside)."""
        if isinstance(node, dict):
            if "$ref" in node:
                try:
                    self.lookup(node["$ref"])
                except KeyError as e:
                    self.problem(where, e.args[0])
            for k, v in node.items():
                if k in ("example", "examples") and where.count(".") > 0:
                    continue
                self.lint_refs(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self.lint_refs(v, f"{where}[{i}]")

    def lint_scheme(self, where, s):
        if not isinstance(s, dict):
            self.problem(where, "not a mapping")
            return
        t = s.get("type")
        if t not in ("apiKey", "http", "oauth2", "openIdConnect"):
            self.problem(where, f"invalid type {t!r}")
        if t == "http" and not isinstance(s.get("scheme"), str):
            self.problem(where, "an http scheme needs scheme")
        if t == "apiKey" and (s.get("in") not in ("query", "header", "cookie") or not s.get("name")):
            self.problem(where, "an apiKey scheme needs name and in")

    def lint_security(self, sec, where, schemes):
        if sec is None:
            return
        if not isinstance(sec, list):
            self.problem(where, "must be a list of requirements")
            return
        for i, req in enumerate(sec):
            if not isinstance(req, dict):
                self.problem(f"{where}[{i}]", "not a mapping")
                continue
            for name, scopes in req.items():
                if name not in schemes:
                    self.problem(f"{where}[{i}]", f"undeclared security scheme {name!r}")
                if not isinstance(scopes, list):
                    self.problem(f"{where}[{i}]", f"{name}: scopes must be a list")

    def lint_operation(self, path, method, op, common, op_ids, tags, schemes):
        where = f"{method.upper()} {path}"
        if not isinstance(op, dict):
            self.problem(where, "not a mapping")
            return
        for k in op:
            if k not in OP_KEYS and not ext(k):
                self.problem(where, f"unknown key {k!r}")
        oid = op.get("operationId")
        if oid is not None:
            if oid in op_ids:
                self.problem(where, f"operationId {oid!r} also used by {op_ids[oid]}")
            op_ids[oid] = where
        for t in op.get("tags", []) or []:
            if tags and t not in tags:
                self.problem(where, f"tag {t!r} is not declared in the top-level tags")
        self.lint_security(op.get("security"), f"{where} security", schemes)
        seen = set()
        params = list(common) + list(op.get("parameters", []) or [])
        for i, prm in enumerate(params):
            p = self.deref(prm, "parameters", f"{where} parameters[{i}]")
            if not isinstance(p, dict):
                continue
            self.lint_parameter(prm, f"{where} parameters[{i}]")
            key = (p.get("name"), p.get("in"))
            if key in seen and i >= len(common):
                self.problem(where, f"parameter {key} twice")
            seen.add(key)
        for name in re.findall(r"\{([^}]+)\}", path):
            if (name, "path") not in seen:
                self.problem(where, f"path parameter {name} is not declared")
        rb = op.get("requestBody")
        if rb is not None:
            rb = self.deref(rb, "requestBodies", f"{where} requestBody")
            if isinstance(rb, dict):
                if not isinstance(rb.get("content"), dict) or not rb["content"]:
                    self.problem(f"{where} requestBody", "content is required")
                else:
                    for mt, media in rb["content"].items():
                        self.lint_media(media, f"{where} requestBody {mt}")
                    if rb.get("required") and self.body_example(rb) is None:
                        self.problem(f"{where} requestBody", "a required body needs an example (the sample call)")
        resps = op.get("responses")
        if not isinstance(resps, dict) or not resps:
            self.problem(where, "responses is required and not empty")
            return
        for code, resp in resps.items():
            if ext(code):
                continue
            if not re.fullmatch(r"[1-5](\d\d|XX)|default", str(code)):
                self.problem(where, f"invalid response key {code!r} (quote status codes)")
            self.lint_response(resp, f"{where} {code}")
        if not any(str(c).startswith("2") for c in resps):
            self.problem(where, "no 2xx answer")

    def lint_parameter(self, prm, where):
        p = self.deref(prm, "parameters", where)
        if not isinstance(p, dict):
            return
        if "$ref" in prm:
            return  # linted where it is defined
        for k in p:
            if k not in PARAM_KEYS and not ext(k):
                self.problem(where, f"unknown key {k!r}")
        if not isinstance(p.get("name"), str):
            self.problem(where, "name is required")
        if p.get("in") not in ("query", "header", "path", "cookie"):
            self.problem(where, f"invalid in {p.get('in')!r}")
        if p.get("in") == "path" and p.get("required") is not True:
            self.problem(where, "a path parameter must be required: true")
        if ("schema" in p) == ("content" in p):
            self.problem(where, "needs exactly one of schema and content")
        if "schema" in p:
            self.lint_schema(p["schema"], f"{where} schema")
            if "example" in p:
                self.check_example(p["example"], p["schema"], f"{where} example")
        if p.get("required") and self.param_example(p) is None:
            self.problem(where, "a required parameter needs an example (the sample call)")

    def lint_response(self, resp, where):
        r = self.deref(resp, "responses", where)
        if not isinstance(r, dict):
            return
        if isinstance(resp, dict) and "$ref" in resp:
            return
        for k in r:
            if k not in RESPONSE_KEYS and not ext(k):
                self.problem(where, f"unknown key {k!r}")
        if not isinstance(r.get("description"), str):
            self.problem(where, "description is required")
        for mt, media in (r.get("content") or {}).items():
            self.lint_media(media, f"{where} {mt}")

    def lint_media(self, media, where):
        if not isinstance(media, dict):
            self.problem(where, "not a mapping")
            return
        for k in media:
            if k not in MEDIA_KEYS and not ext(k):
                self.problem(where, f"unknown key {k!r}")
        if "example" in media and "examples" in media:
            self.problem(where, "example and examples are mutually exclusive")
        schema = media.get("schema")
        if schema is None:
            return
        self.lint_schema(schema, f"{where} schema")
        if "example" in media:
            self.check_example(media["example"], schema, f"{where} example")
        for name, ex in (media.get("examples") or {}).items():
            ex = self.deref(ex, "examples", f"{where} examples.{name}")
            if isinstance(ex, dict) and "value" in ex:
                self.check_example(ex["value"], schema, f"{where} examples.{name}")
            elif ex is not None:
                self.problem(f"{where} examples.{name}", "needs a value")

    def lint_schema(self, s, where, depth=0):
        if depth > 40:
            return
        if not isinstance(s, dict):
            self.problem(where, "a schema must be a mapping")
            return
        if "$ref" in s:
            if len(s) > 1:
                self.problem(where, "siblings of $ref are ignored in OpenAPI 3.0")
            self.deref(s, "schemas", where)
            return
        for k in s:
            if k not in SCHEMA_KEYS and not ext(k):
                self.problem(where, f"unknown schema keyword {k!r}")
        t = s.get("type")
        if t is not None and t not in SCHEMA_TYPES:
            self.problem(where, f"invalid type {t!r} (OpenAPI 3.0: one type; null via nullable)")
        if t == "array" and "items" not in s:
            self.problem(where, "an array needs items")
        if "pattern" in s:
            try:
                re.compile(s["pattern"])
            except (re.error, TypeError) as e:
                self.problem(where, f"pattern does not compile: {e}")
        req = s.get("required")
        if req is not None:
            if not isinstance(req, list) or not req or len(set(req)) != len(req):
                self.problem(where, "required must be a non-empty list of distinct names")
            elif "properties" in s:
                for name in req:
                    if name not in s["properties"]:
                        self.problem(where, f"required {name!r} is not among the properties")
        if "enum" in s and (not isinstance(s["enum"], list) or not s["enum"]):
            self.problem(where, "enum must be a non-empty list")
        for k in ("allOf", "oneOf", "anyOf"):
            if k in s:
                if not isinstance(s[k], list) or not s[k]:
                    self.problem(where, f"{k} must be a non-empty list")
                else:
                    for i, sub in enumerate(s[k]):
                        self.lint_schema(sub, f"{where}.{k}[{i}]", depth + 1)
        if "not" in s:
            self.lint_schema(s["not"], f"{where}.not", depth + 1)
        if "items" in s:
            self.lint_schema(s["items"], f"{where}.items", depth + 1)
        for name, sub in (s.get("properties") or {}).items():
            self.lint_schema(sub, f"{where}.{name}", depth + 1)
        ap = s.get("additionalProperties")
        if isinstance(ap, dict):
            self.lint_schema(ap, f"{where}.additionalProperties", depth + 1)
        elif ap is not None and not isinstance(ap, bool):
            self.problem(where, "additionalProperties must be a boolean or a schema")
        for k in ("example", "default"):
            if k in s and t is not None:
                self.check_example(s[k], s, f"{where} {k}")

    def check_example(self, value, schema, where):
        for e in self.validate(value, schema, "$"):
            self.problem(where, e)

    # ---- validation (the JSON Schema subset of OpenAPI 3.0) ---------------------------
    def validate(self, v, s, at, depth=0):
        """The ways v fails schema s, as a list of strings."""
        if depth > 60:
            return []
        while isinstance(s, dict) and "$ref" in s:
            try:
                s = self.lookup(s["$ref"])
            except KeyError:
                return []  # lint reports it where it is
        if not isinstance(s, dict):
            return []
        errs = []
        if v is None:
            if s.get("nullable") or not ({"type", "enum"} & set(s)):
                return self.combinators(v, s, at, depth)
            return [f"{at}: null is not allowed"]
        t = s.get("type")
        ok = {
            None: True,
            "string": isinstance(v, str),
            "boolean": isinstance(v, bool),
            "integer": isinstance(v, int) and not isinstance(v, bool),
            "number": isinstance(v, (int, float)) and not isinstance(v, bool),
            "array": isinstance(v, list),
            "object": isinstance(v, dict),
        }.get(t, True)
        if not ok:
            return [f"{at}: {json.dumps(v)[:60]} is not of type {t}"]
        if "enum" in s and v not in s["enum"]:
            errs.append(f"{at}: {json.dumps(v)[:60]} is not one of {s['enum']}")
        if isinstance(v, str):
            if "minLength" in s and len(v) < s["minLength"]:
                errs.append(f"{at}: shorter than {s['minLength']}")
            if "maxLength" in s and len(v) > s["maxLength"]:
                errs.append(f"{at}: longer than {s['maxLength']}")
            if "pattern" in s and not re.search(s["pattern"], v):
                errs.append(f"{at}: {v[:60]!r} does not match {s['pattern']}")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if "minimum" in s and v < s["minimum"]:
                errs.append(f"{at}: {v} < minimum {s['minimum']}")
            if "maximum" in s and v > s["maximum"]:
                errs.append(f"{at}: {v} > maximum {s['maximum']}")
        if isinstance(v, list):
            if "minItems" in s and len(v) < s["minItems"]:
                errs.append(f"{at}: fewer than {s['minItems']} items")
            if "maxItems" in s and len(v) > s["maxItems"]:
                errs.append(f"{at}: more than {s['maxItems']} items")
            if "items" in s:
                for i, x in enumerate(v):
                    errs += self.validate(x, s["items"], f"{at}[{i}]", depth + 1)
        if isinstance(v, dict):
            props = s.get("properties") or {}
            for name in s.get("required", []) or []:
                if name not in v:
                    errs.append(f"{at}: {name} is missing")
            for name, x in v.items():
                if name in props:
                    errs += self.validate(x, props[name], f"{at}.{name}", depth + 1)
                elif s.get("additionalProperties") is False:
                    errs.append(f"{at}: {name} is not documented")
                elif isinstance(s.get("additionalProperties"), dict):
                    errs += self.validate(x, s["additionalProperties"], f"{at}.{name}", depth + 1)
        return errs + self.combinators(v, s, at, depth)

    def combinators(self, v, s, at, depth):
        errs = []
        for sub in s.get("allOf", []) or []:
            errs += self.validate(v, sub, at, depth + 1)
        if "anyOf" in s and all(self.validate(v, sub, at, depth + 1) for sub in s["anyOf"]):
            errs.append(f"{at}: matches none of anyOf")
        if "oneOf" in s:
            n = sum(1 for sub in s["oneOf"] if not self.validate(v, sub, at, depth + 1))
            if n != 1:
                errs.append(f"{at}: matches {n} of oneOf, not 1")
        if "not" in s and not self.validate(v, s["not"], at, depth + 1):
            errs.append(f"{at}: matches what `not` excludes")
        return errs

    # ---- operations ----------------------------------------------------------------
    def operations(self):
        for p, item in (self.root.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            for m in HTTP_METHODS:
                if m in item:
                    yield p, m, item[m], item.get("parameters", []) or []

    def param_example(self, p):
        if "example" in p:
            return p["example"]
        for ex in (p.get("examples") or {}).values():
            ex = self.deref(ex, "examples", "example")
            if isinstance(ex, dict) and "value" in ex:
                return ex["value"]
        s = self.deref(p.get("schema") or {}, "schemas", p.get("name", "?")) or {}
        for k in ("example", "default"):
            if k in s:
                return s[k]
        if "enum" in s:
            return s["enum"][0]
        return None

    def body_example(self, rb):
        media = (rb.get("content") or {}).get("application/json") or {}
        if "example" in media:
            return media["example"]
        for ex in (media.get("examples") or {}).values():
            ex = self.deref(ex, "examples", "example")
            if isinstance(ex, dict) and "value" in ex:
                return ex["value"]
        s = self.deref(media.get("schema") or {}, "schemas", "body") or {}
        return s.get("example")

    def calls(self):
        from urllib.parse import quote
        out = []
        for p, m, op, common in self.operations():
            query = []
            for prm in list(common) + list(op.get("parameters", []) or []):
                prm = self.deref(prm, "parameters", p)
                if isinstance(prm, dict) and prm.get("in") == "query" and prm.get("required"):
                    val = self.param_example(prm)
                    query.append(f"{quote(prm['name'])}={quote(str(val), safe=':')}")
            body = ""
            rb = self.deref(op.get("requestBody"), "requestBodies", p) if op.get("requestBody") else None
            if isinstance(rb, dict):
                ex = self.body_example(rb)
                if ex is not None:
                    body = json.dumps(ex, separators=(",", ":"))
            out.append(f"{m.upper()}\t{p}{'?' + '&'.join(query) if query else ''}\t{body}")
        return out

    def answer_schema(self, method, path, status):
        item = (self.root.get("paths") or {}).get(path)
        op = item.get(method.lower()) if isinstance(item, dict) else None
        if not isinstance(op, dict):
            return None, f"{method} {path} is not documented"
        resps = op.get("responses") or {}
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in resps:
                r = self.deref(resps[key], "responses", f"{method} {path} {key}")
                media = ((r or {}).get("content") or {}).get("application/json")
                if not media or "schema" not in media:
                    return None, f"{method} {path} {key}: no application/json schema"
                return media["schema"], None
        return None, f"{method} {path}: status {status} is not documented (has {', '.join(map(str, resps))})"


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        cmd, doc = argv[1], Doc(argv[2])
    except (OSError, yaml.YAMLError) as e:
        print(f"{argv[2]}: {e}".replace("\n", " "))
        return 1
    if cmd == "lint":
        problems = doc.lint()
        for p in problems:
            print(p)
        return 1 if problems else 0
    if cmd == "routes":
        for line in sorted(f"{m.upper()} {p}" for p, m, _, _ in doc.operations()):
            print(line)
        return 0
    if cmd == "calls":
        for line in doc.calls():
            print(line)
        return 0
    if cmd == "validate" and len(argv) == 6:
        schema, why = doc.answer_schema(argv[3], argv[4], argv[5])
        if why:
            print(why)
            return 1
        try:
            body = json.loads(sys.stdin.read())
        except ValueError as e:
            print(f"the answer is not JSON: {e}")
            return 1
        errs = doc.validate(body, schema, "$")
        for e in errs:
            print(e)
        return 1 if errs else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
