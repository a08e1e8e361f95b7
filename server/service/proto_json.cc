#include "server/service/proto_json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "server/engine/printable.h"

namespace trailsentry::service {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

const char* JsonType(simdjson::dom::element_type t) {
  switch (t) {
    case simdjson::dom::element_type::ARRAY:
      return "a list";
    case simdjson::dom::element_type::OBJECT:
      return "an object";
    case simdjson::dom::element_type::STRING:
      return "a string";
    case simdjson::dom::element_type::BOOL:
      return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE:
      return "null";
    default:
      return "a number";
  }
}

// The field a JSON key names: its JSON (lowerCamel) name or its proto name.
const FieldDescriptor* FieldNamed(const Descriptor* d, std::string_view key) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->json_name() == key || f->name() == key) return f;
  }
  return nullptr;
}

// A shape error: where (a path, built outward as the error returns, so a body
// that is fine costs no string) and what.
struct ShapeError {
  std::string path;
  std::string what;
  // Puts `component` ("events", "[3]") in front of the path.
  ShapeError& Under(const std::string& component) {
    path = absl::StrCat(component, path.empty() || path[0] == '[' ? "" : ".", path);
    return *this;
  }
};

ShapeError Wrong(std::string_view key, const char* expected, simdjson::dom::element_type got) {
  return ShapeError{engine::Printable(key),
                    absl::StrCat("expected ", expected, ", got ", JsonType(got))};
}

// Checks what protobuf's reader lets through: each repeated field a list (or
// null), each message field an object (or null); recursing into messages.
std::optional<ShapeError> CheckShape(simdjson::dom::object obj, const Descriptor* d) {
  for (const auto& [key, value] : obj) {
    const FieldDescriptor* f = FieldNamed(d, key);
    if (f == nullptr) continue;  // protobuf names unknown fields itself
    if (value.is_null() || f->is_map()) continue;
    const bool message =
        f->type() == FieldDescriptor::TYPE_MESSAGE &&
        f->message_type()->well_known_type() == Descriptor::WELLKNOWNTYPE_UNSPECIFIED;
    if (f->is_repeated()) {
      simdjson::dom::array list;
      if (value.get_array().get(list) != simdjson::SUCCESS)
        return Wrong(key, "a list", value.type());
      if (!message) continue;
      size_t i = 0;
      for (const simdjson::dom::element& item : list) {
        simdjson::dom::object inner;
        std::optional<ShapeError> error;
        if (item.get_object().get(inner) != simdjson::SUCCESS) {
          error = ShapeError{"", absl::StrCat("expected an object, got ", JsonType(item.type()))};
        } else {
          error = CheckShape(inner, f->message_type());
        }
        if (error) return error->Under(absl::StrCat("[", i, "]")).Under(engine::Printable(key));
        ++i;
      }
    } else if (message) {
      simdjson::dom::object inner;
      if (value.get_object().get(inner) != simdjson::SUCCESS) {
        return Wrong(key, "an object", value.type());
      }
      if (std::optional<ShapeError> error = CheckShape(inner, f->message_type())) {
        return error->Under(engine::Printable(key));
      }
    }
  }
  return std::nullopt;
}

}  // namespace

absl::Status ParseProtoJson(std::string_view body, google::protobuf::Message* m) {
  const std::string what = m->GetDescriptor()->name();
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) {
    // Not JSON at all: protobuf's message says where.
  } else {
    simdjson::dom::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("body: expected a JSON object (", what, "), got ", JsonType(doc.type())));
    }
    if (std::optional<ShapeError> error = CheckShape(obj, m->GetDescriptor())) {
      return absl::InvalidArgumentError(absl::StrCat("body: ", error->path, ": ", error->what));
    }
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto s = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), m, options);
  if (!s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("body: not a ", what, " in proto3 JSON: ", s.message().as_string()));
  }
  return absl::OkStatus();
}

}  // namespace trailsentry::service
