#include "server/service/request_decoder.h"

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "server/engine/printable.h"

namespace trailsentry::service {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

constexpr int kMaxDepth = 16;

std::optional<std::string> Find(std::string_view bytes, const Descriptor& type,
                                const std::string& path, int depth) {
  if (depth > kMaxDepth) return std::nullopt;
  UnknownFieldSet fields;
  if (!fields.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  absl::flat_hash_map<int, int> seen;  // field number -> occurrences so far
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& f = fields.field(i);
    if (f.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const FieldDescriptor* fd = type.FindFieldByNumber(f.number());
    if (fd == nullptr) continue;
    const int n = seen[f.number()]++;
    std::string name = fd->is_repeated() ? absl::StrCat(path, fd->name(), "[", n, "]")
                                         : absl::StrCat(path, fd->name());
    if (fd->type() == FieldDescriptor::TYPE_STRING && !engine::IsValidUtf8(f.length_delimited())) {
      return name;
    }
    if (fd->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (auto found = Find(f.length_delimited(), *fd->message_type(), name + ".", depth + 1)) {
        return found;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> FindInvalidUtf8(std::string_view bytes, const Descriptor& type) {
  return Find(bytes, type, "", 0);
}

absl::Status DecodeRequest(const grpc::ByteBuffer& buffer, google::protobuf::Message& out) {
  // Parsed from gRPC's slices, without a copy, as generated code would.
  grpc::ByteBuffer copy(buffer);  // shares the slices (reference counts)
  grpc::ProtoBufferReader reader(&copy);
  if (out.ParseFromZeroCopyStream(&reader)) return absl::OkStatus();
  // The failure path only: flatten the message and say why.
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (buffer.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices)
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  const std::string type = out.GetDescriptor()->name();
  out.Clear();
  if (auto field = FindInvalidUtf8(bytes, *out.GetDescriptor())) {
    return absl::InvalidArgumentError(absl::StrCat(
        *field, ": not valid UTF-8 (proto3 strings must be; send other bytes as `payload`)"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("request: not a valid ", type, " (", bytes.size(), " bytes of protobuf)"));
}

absl::Status EncodeResponse(const google::protobuf::Message& message, grpc::ByteBuffer& out) {
  bool own = false;
  grpc::Status s =
      grpc::SerializationTraits<google::protobuf::Message>::Serialize(message, &out, &own);
  if (!s.ok())
    return absl::InternalError(absl::StrCat("encoding the response: ", s.error_message()));
  return absl::OkStatus();
}

}  // namespace trailsentry::service
