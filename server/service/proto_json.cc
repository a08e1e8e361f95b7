#include "server/service/proto_json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <simdjson.h>

#include <string>

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

// Checks what protobuf's reader lets through: each repeated field a list (or
// null), each message field an object (or null); recursing into messages.
absl::Status CheckShape(simdjson::dom::object obj, const Descriptor* d, const std::string& path) {
  for (const auto& [key, value] : obj) {
    const FieldDescriptor* f = FieldNamed(d, key);
    const std::string name = absl::StrCat(path, path.empty() ? "" : ".", engine::Printable(key));
    if (f == nullptr) continue;  // protobuf names unknown fields itself
    if (value.is_null()) continue;
    if (f->is_map()) continue;
    const bool message =
        f->type() == FieldDescriptor::TYPE_MESSAGE &&
        f->message_type()->well_known_type() == Descriptor::WELLKNOWNTYPE_UNSPECIFIED;
    if (f->is_repeated()) {
      simdjson::dom::array list;
      if (value.get_array().get(list) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError(
            absl::StrCat("body: ", name, ": expected a list, got ", JsonType(value.type())));
      }
      if (!message) continue;
      size_t i = 0;
      for (const simdjson::dom::element& item : list) {
        simdjson::dom::object inner;
        const std::string item_name = absl::StrCat(name, "[", i++, "]");
        if (item.get_object().get(inner) != simdjson::SUCCESS) {
          return absl::InvalidArgumentError(absl::StrCat(
              "body: ", item_name, ": expected an object, got ", JsonType(item.type())));
        }
        if (absl::Status s = CheckShape(inner, f->message_type(), item_name); !s.ok()) return s;
      }
    } else if (message) {
      simdjson::dom::object inner;
      if (value.get_object().get(inner) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError(
            absl::StrCat("body: ", name, ": expected an object, got ", JsonType(value.type())));
      }
      if (absl::Status s = CheckShape(inner, f->message_type(), name); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
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
    if (absl::Status s = CheckShape(obj, m->GetDescriptor(), ""); !s.ok()) return s;
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
