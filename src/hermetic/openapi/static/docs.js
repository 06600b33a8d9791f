// hermetic API docs: renders the app's OpenAPI document, with a "try it" form.
// Self-contained (no third-party code, no network access but the app itself).
// SECURITY: every text from the document is inserted with textContent, never
// as HTML, so a docstring or a schema title cannot inject markup or script.
(function () {
  "use strict";

  var body = document.body;
  var root = document.getElementById("hermetic-docs");
  var specUrl = body.getAttribute("data-spec-url");
  var baseUrl = body.getAttribute("data-base-url") || "";
  var csrfHeader = body.getAttribute("data-csrf-header") || "X-CSRF-Token";
  var METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
  var spec = null;
  var auth = { bearer: null, csrf: null };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        if (key === "text") node.textContent = attrs[key];
        else if (key === "className") node.className = attrs[key];
        else node.setAttribute(key, attrs[key]);
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function resolve(schema, seen) {
    var guard = seen || 0;
    while (schema && typeof schema.$ref === "string" && guard < 20) {
      var prefix = "#/components/schemas/";
      if (schema.$ref.indexOf(prefix) !== 0) return schema;
      schema = (spec.components.schemas || {})[schema.$ref.slice(prefix.length)] || {};
      guard += 1;
    }
    return schema || {};
  }

  function refName(schema) {
    if (schema && typeof schema.$ref === "string") {
      return schema.$ref.split("/").pop();
    }
    return null;
  }

  function typeLabel(schema) {
    if (!schema) return "any";
    var name = refName(schema);
    if (name) return name;
    if (schema.anyOf || schema.oneOf) {
      return (schema.anyOf || schema.oneOf).map(typeLabel).join(" | ");
    }
    if (schema.allOf) return schema.allOf.map(typeLabel).join(" & ");
    if (schema.enum) return "enum(" + schema.enum.map(String).join(", ") + ")";
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    var type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type || "any";
    if (type === "array") return "array of " + typeLabel(schema.items);
    var extras = [];
    ["format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
     "minLength", "maxLength", "pattern", "minItems", "maxItems"].forEach(function (key) {
      if (schema[key] !== undefined) extras.push(key + "=" + schema[key]);
    });
    return extras.length ? type + " (" + extras.join(", ") + ")" : type;
  }

  function schemaTree(schema, depth) {
    var level = depth || 0;
    var target = resolve(schema);
    var list = el("ul", { className: "schema" });
    if (level > 6) return list;
    if (target.type === "array" && target.items) {
      list.appendChild(el("li", { text: "items: " + typeLabel(target.items) }));
      var inner = resolve(target.items);
      if (inner.properties) list.appendChild(el("li", null, [schemaTree(target.items, level + 1)]));
      return list;
    }
    var required = target.required || [];
    Object.keys(target.properties || {}).forEach(function (name) {
      var prop = target.properties[name];
      var item = el("li", null, [
        el("code", { text: name }),
        ": " + typeLabel(prop) + (required.indexOf(name) >= 0 ? " (required)" : ""),
      ]);
      if (prop.description) item.appendChild(el("div", { className: "muted", text: prop.description }));
      var resolved = resolve(prop);
      var nested = resolved.type === "array" ? resolve(resolved.items) : resolved;
      if (nested.properties) item.appendChild(schemaTree(prop, level + 1));
      list.appendChild(item);
    });
    if (!list.childNodes.length) list.appendChild(el("li", { text: typeLabel(schema) }));
    return list;
  }

  function example(schema, depth) {
    var level = depth || 0;
    var target = resolve(schema);
    if (level > 6) return null;
    if (target.examples && target.examples.length) return target.examples[0];
    if (target.default !== undefined) return target.default;
    if (target.const !== undefined) return target.const;
    if (target.enum && target.enum.length) return target.enum[0];
    var alternatives = target.anyOf || target.oneOf;
    if (alternatives) {
      var first = alternatives.filter(function (s) { return s.type !== "null"; })[0];
      return first ? example(first, level + 1) : null;
    }
    var type = Array.isArray(target.type) ? target.type[0] : target.type;
    if (type === "object" || target.properties) {
      var out = {};
      Object.keys(target.properties || {}).forEach(function (name) {
        out[name] = example(target.properties[name], level + 1);
      });
      return out;
    }
    if (type === "array") return [example(target.items || {}, level + 1)];
    if (type === "integer" || type === "number") return target.minimum !== undefined ? target.minimum : 0;
    if (type === "boolean") return false;
    if (type === "null") return null;
    if (target.format === "uuid") return "00000000-0000-0000-0000-000000000000";
    if (target.format === "date-time") return new Date(0).toISOString();
    return "string";
  }

  function paramTable(params) {
    var table = el("table", null, [
      el("thead", null, [el("tr", null, [
        el("th", { text: "Name" }), el("th", { text: "In" }),
        el("th", { text: "Type" }), el("th", { text: "Required" }),
      ])]),
    ]);
    var tbody = el("tbody");
    params.forEach(function (p) {
      tbody.appendChild(el("tr", null, [
        el("td", null, [el("code", { text: p.name })]), el("td", { text: p.in }),
        el("td", { text: typeLabel(p.schema) }), el("td", { text: p.required ? "yes" : "no" }),
      ]));
    });
    table.appendChild(tbody);
    return table;
  }

  function tryForm(path, method, op) {
    var form = el("form", { className: "try" });
    var inputs = [];
    (op.parameters || []).forEach(function (p) {
      var input = el("input", { name: p.name, placeholder: typeLabel(p.schema) });
      if (p.required) input.required = true;
      inputs.push({ param: p, input: input });
      form.appendChild(el("label", null, [p.in + " " + p.name + " ", input]));
    });
    var textarea = null;
    if (op.requestBody) {
      var media = op.requestBody.content["application/json"] || {};
      textarea = el("textarea", { rows: "8", spellcheck: "false" });
      textarea.value = JSON.stringify(example(media.schema || {}), null, 2);
      form.appendChild(el("label", null, ["JSON body", textarea]));
    }
    var output = el("pre", { className: "result", "aria-live": "polite" });
    form.appendChild(el("button", { type: "submit", text: "Send " + method.toUpperCase() }));
    form.appendChild(output);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var url = path;
      var query = [];
      inputs.forEach(function (entry) {
        var value = entry.input.value;
        if (entry.param.in === "path") {
          url = url.split("{" + entry.param.name + "}").join(encodeURIComponent(value));
        } else if (value !== "") {
          var values = entry.param.schema && entry.param.schema.type === "array" ? value.split(",") : [value];
          values.forEach(function (v) {
            query.push(encodeURIComponent(entry.param.name) + "=" + encodeURIComponent(v.trim()));
          });
        }
      });
      var headers = { Accept: "application/json" };
      if (auth.bearer && auth.bearer.value) headers.Authorization = "Bearer " + auth.bearer.value;
      if (auth.csrf && auth.csrf.value) headers[csrfHeader] = auth.csrf.value;
      var init = { method: method.toUpperCase(), headers: headers, credentials: "same-origin" };
      if (textarea) {
        headers["Content-Type"] = "application/json";
        init.body = textarea.value;
      }
      // Relative URL: the request can only go to this same origin.
      var target = baseUrl + url + (query.length ? "?" + query.join("&") : "");
      output.textContent = "...";
      fetch(target, init).then(function (response) {
        return response.text().then(function (text) {
          var shown = text;
          try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
          var rid = response.headers.get("X-Request-ID");
          output.textContent = response.status + " " + response.statusText +
            (rid ? "  (request id " + rid + ")" : "") + "\n\n" + shown;
        });
      }).catch(function (error) {
        output.textContent = "Request failed: " + error;
      });
    });
    return form;
  }

  function operation(path, method, op) {
    var details = el("details", { className: "op op-" + method });
    details.appendChild(el("summary", null, [
      el("span", { className: "method", text: method.toUpperCase() }),
      el("code", { text: path }),
      op.summary ? el("span", { className: "muted", text: " " + op.summary }) : null,
    ]));
    if (op.description) details.appendChild(el("p", { className: "desc", text: op.description }));
    if (op["x-hermetic-policy"]) {
      details.appendChild(el("p", null, [el("strong", { text: "Access: " }), op["x-hermetic-policy"]]));
    }
    if (op.parameters && op.parameters.length) {
      details.appendChild(el("h4", { text: "Parameters" }));
      details.appendChild(paramTable(op.parameters));
    }
    if (op.requestBody) {
      var media = op.requestBody.content["application/json"] || {};
      details.appendChild(el("h4", { text: "Request body: " + typeLabel(media.schema) }));
      details.appendChild(schemaTree(media.schema || {}));
    }
    details.appendChild(el("h4", { text: "Responses" }));
    var responses = el("ul", { className: "responses" });
    Object.keys(op.responses || {}).forEach(function (code) {
      var response = op.responses[code];
      var content = response.content || {};
      var mediaType = Object.keys(content)[0];
      var schema = mediaType ? content[mediaType].schema : null;
      responses.appendChild(el("li", null, [
        el("code", { text: code }), " " + (response.description || ""),
        schema ? el("span", { className: "muted", text: " " + typeLabel(schema) }) : null,
      ]));
    });
    details.appendChild(responses);
    details.appendChild(el("h4", { text: "Try it" }));
    details.appendChild(tryForm(path, method, op));
    return details;
  }

  function render() {
    root.textContent = "";
    var info = spec.info || {};
    root.appendChild(el("header", null, [
      el("h1", { text: info.title || "API" }),
      el("p", { className: "muted", text: "Version " + (info.version || "?") + " - OpenAPI " + spec.openapi }),
      el("p", null, [el("a", { href: specUrl, text: "openapi.json" })]),
    ]));
    var schemes = (spec.components && spec.components.securitySchemes) || {};
    var authBox = el("fieldset", { className: "auth" }, [el("legend", { text: "Credentials" })]);
    if (schemes.bearerAuth) {
      auth.bearer = el("input", { type: "password", autocomplete: "off", placeholder: "token" });
      authBox.appendChild(el("label", null, ["Bearer token ", auth.bearer]));
    }
    auth.csrf = el("input", { autocomplete: "off", placeholder: csrfHeader });
    authBox.appendChild(el("label", null, ["CSRF token ", auth.csrf]));
    root.appendChild(authBox);

    var groups = {};
    Object.keys(spec.paths || {}).forEach(function (path) {
      var item = spec.paths[path];
      METHODS.forEach(function (method) {
        if (!item[method]) return;
        var tag = (item[method].tags || ["default"])[0];
        (groups[tag] = groups[tag] || []).push(operation(path, method, item[method]));
      });
    });
    Object.keys(groups).sort().forEach(function (tag) {
      var section = el("section", null, [el("h2", { text: tag })]);
      groups[tag].forEach(function (node) { section.appendChild(node); });
      root.appendChild(section);
    });

    var schemas = (spec.components && spec.components.schemas) || {};
    var models = el("section", null, [el("h2", { text: "Schemas" })]);
    Object.keys(schemas).sort().forEach(function (name) {
      models.appendChild(el("details", { className: "model" }, [
        el("summary", null, [el("code", { text: name })]),
        schemaTree({ $ref: "#/components/schemas/" + name }),
      ]));
    });
    root.appendChild(models);
  }

  fetch(specUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    })
    .then(function (document) { spec = document; render(); })
    .catch(function (error) {
      root.textContent = "Could not load the API description: " + error.message;
    });
})();
