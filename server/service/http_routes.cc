#include "server/service/http_routes.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "trailsentry/v1/detection.pb.h"

namespace trailsentry::service {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Struct;
using google::protobuf::Value;

Value Str(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}
Value Bool(bool b) {
  Value v;
  v.set_bool_value(b);
  return v;
}
Struct& Obj(Value& v) { return *v.mutable_struct_value(); }
Value& Field(Struct& s, const std::string& name) { return (*s.mutable_fields())[name]; }
Value Ref(const Descriptor* d) {
  Value v;
  Field(Obj(v), "$ref") = Str("#/components/schemas/" + d->full_name());
  return v;
}

// A segment matches "{param}" or itself.
bool Matches(const std::string& templ, const std::string& path) {
  const std::vector<std::string> t = absl::StrSplit(templ, '/');
  const std::vector<std::string> p = absl::StrSplit(path, '/');
  if (t.size() != p.size()) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (absl::StartsWith(t[i], "{")) {
      if (p[i].empty()) return false;
    } else if (t[i] != p[i]) {
      return false;
    }
  }
  return true;
}

// The JSON schema of one field's value (proto3 JSON mapping).
Value FieldSchema(const FieldDescriptor* f, std::set<const Descriptor*>& todo) {
  Value v;
  Struct& s = Obj(v);
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_UINT32:
      Field(s, "type") = Str("integer");
      break;
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT64:
      Field(s, "type") = Str("string");  // proto3 JSON writes 64-bit integers as strings
      Field(s, "format") = Str("int64");
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      Field(s, "type") = Str("number");
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      Field(s, "type") = Str("boolean");
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      Field(s, "type") = Str("string");
      if (f->type() == FieldDescriptor::TYPE_BYTES) Field(s, "format") = Str("byte");
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      Field(s, "type") = Str("string");
      Value& values = Field(s, "enum");
      for (int i = 0; i < f->enum_type()->value_count(); ++i) {
        *values.mutable_list_value()->add_values() = Str(f->enum_type()->value(i)->name());
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Descriptor* m = f->message_type();
      if (m->full_name() == "google.protobuf.Timestamp") {
        Field(s, "type") = Str("string");
        Field(s, "format") = Str("date-time");
      } else if (m->full_name() == "google.protobuf.Struct") {
        Field(s, "type") = Str("object");
      } else {
        todo.insert(m);
        v = Ref(m);
      }
      break;
    }
  }
  if (!f->is_repeated()) return v;
  Value array;
  Field(Obj(array), "type") = Str("array");
  Field(Obj(array), "items") = std::move(v);
  return array;
}

Value MessageSchema(const Descriptor* d, std::set<const Descriptor*>& todo) {
  Value v;
  Field(Obj(v), "type") = Str("object");
  Field(Obj(v), "additionalProperties") = Bool(false);
  Struct& props = Obj(Field(Obj(v), "properties"));
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    Field(props, f->json_name()) = FieldSchema(f, todo);
  }
  return v;
}

Value JsonContent(Value schema) {
  Value content;
  Field(Obj(Field(Obj(content), "application/json")), "schema") = std::move(schema);
  return content;
}

}  // namespace

const std::vector<HttpRoute>& HttpRoutes() {
  static const std::vector<HttpRoute> kRoutes = {
      {"POST",
       "/v1/evaluate",
       "Evaluate a batch of CloudTrail records",
       v1::EvaluateRequest::descriptor(),
       v1::EvaluateResponse::descriptor(),
       {}},
      {"GET",
       "/v1/identities/{identity}",
       "What trailsentry knows of an identity",
       nullptr,
       v1::IdentityProfile::descriptor(),
       {}},
      {"DELETE",
       "/v1/identities/{identity}",
       "Forget an identity's profile and baselines",
       nullptr,
       v1::ForgetIdentityResponse::descriptor(),
       {}},
      {"GET",
       "/v1/alerts",
       "Alert history, newest first, or changed since a time",
       nullptr,
       v1::ListAlertsResponse::descriptor(),
       {"since", "until", "rule_id", "identity", "status", "updated_since", "page_size",
        "page_token", "format"}},
      {"GET",
       "/v1/alerts/{alert_id}",
       "One alert with its triage",
       nullptr,
       v1::Alert::descriptor(),
       {"format"}},
      {"PATCH",
       "/v1/alerts/{alert_id}",
       "Triage: status, disposition, assignee, a note",
       v1::UpdateAlertRequest::descriptor(),
       v1::Alert::descriptor(),
       {}},
      {"GET",
       "/v1/known-networks",
       "Networks trusted (or marked hostile)",
       nullptr,
       v1::ListKnownNetworksResponse::descriptor(),
       {"identity", "account_id", "hostile"}},
      {"POST",
       "/v1/known-networks",
       "Trust a network, or mark it hostile",
       v1::AddKnownNetworkRequest::descriptor(),
       v1::AddKnownNetworkResponse::descriptor(),
       {}},
      {"DELETE",
       "/v1/known-networks",
       "Stop trusting a network, or unmark it",
       nullptr,
       v1::RemoveKnownNetworkResponse::descriptor(),
       {"identity", "account_id", "hostile", "cidr"}},
      {"GET", "/healthz", "Liveness", nullptr, nullptr, {}, false},
      {"GET", "/readyz", "Readiness (storage writable, not draining)", nullptr, nullptr, {}, false},
      {"GET", "/metrics", "Prometheus metrics", nullptr, nullptr, {}, false},
      {"GET", "/openapi.json", "This document", nullptr, nullptr, {}, false},
  };
  return kRoutes;
}

std::string AllowedMethods(const std::string& path) {
  std::vector<std::string> methods;
  for (const HttpRoute& r : HttpRoutes()) {
    if (Matches(r.path, path)) methods.emplace_back(r.method);
  }
  return absl::StrJoin(methods, ", ");
}

std::string OpenApiDocument() {
  Value doc;
  Struct& d = Obj(doc);
  Field(d, "openapi") = Str("3.0.3");
  Struct& info = Obj(Field(d, "info"));
  Field(info, "title") = Str("trailsentry HTTP/JSON API");
  Field(info, "version") = Str("v1");
  Field(info, "description") =
      Str("Bodies are the proto3 JSON of protos/trailsentry/v1 (field names lowerCamelCase in "
          "bodies; query parameters are the proto field names). Errors: "
          "{\"code\":\"INVALID_ARGUMENT\",\"message\":\"...\"}. docs/soar.md has a guide.");
  Struct& security_schemes =
      Obj(Field(Obj(Field(Obj(Field(d, "components")), "securitySchemes")), "bearer"));
  Field(security_schemes, "type") = Str("http");
  Field(security_schemes, "scheme") = Str("bearer");

  std::set<const Descriptor*> todo;
  Struct& paths = Obj(Field(d, "paths"));
  for (const HttpRoute& r : HttpRoutes()) {
    std::string method = r.method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    Struct& op = Obj(Field(Obj(Field(paths, r.path)), method));
    Field(op, "summary") = Str(r.summary);
    Value& params = Field(op, "parameters");
    params.mutable_list_value();
    const std::vector<std::string> segments = absl::StrSplit(r.path, '/');
    for (const std::string& segment : segments) {
      if (!absl::StartsWith(segment, "{")) continue;
      Value p;
      Field(Obj(p), "name") = Str(segment.substr(1, segment.size() - 2));
      Field(Obj(p), "in") = Str("path");
      Field(Obj(p), "required") = Bool(true);
      Field(Obj(Field(Obj(p), "schema")), "type") = Str("string");
      *params.mutable_list_value()->add_values() = std::move(p);
    }
    for (const char* q : r.query) {
      Value p;
      Field(Obj(p), "name") = Str(q);
      Field(Obj(p), "in") = Str("query");
      Field(Obj(Field(Obj(p), "schema")), "type") = Str("string");
      *params.mutable_list_value()->add_values() = std::move(p);
    }
    if (r.request != nullptr) {
      todo.insert(r.request);
      Field(Obj(Field(op, "requestBody")), "content") = JsonContent(Ref(r.request));
    }
    Struct& ok = Obj(Field(Obj(Field(op, "responses")), "200"));
    Field(ok, "description") = Str("OK");
    if (r.response != nullptr) {
      todo.insert(r.response);
      Field(ok, "content") = JsonContent(Ref(r.response));
    }
    if (r.authenticated) {
      Value requirement;
      Field(Obj(requirement), "bearer").mutable_list_value();
      *Field(op, "security").mutable_list_value()->add_values() = std::move(requirement);
    }
  }
  // Every message reachable from the routes, each once.
  Struct& schemas = Obj(Field(Obj(Field(d, "components")), "schemas"));
  std::set<const Descriptor*> done;
  while (!todo.empty()) {
    const Descriptor* m = *todo.begin();
    todo.erase(todo.begin());
    if (!done.insert(m).second) continue;
    Field(schemas, m->full_name()) = MessageSchema(m, todo);
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(d, &json);
  return json;
}

}  // namespace trailsentry::service
