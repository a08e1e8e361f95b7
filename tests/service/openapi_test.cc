// GET /openapi.json against the real server: every documented route is served
// with its documented methods and only those, and every schema reference
// resolves.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <set>
#include <string>

#include "absl/strings/str_replace.h"
#include "server/service/server.h"
#include "tests/testing/temp_dir.h"

namespace trailsentry::testing {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// Every "$ref" under `v`.
void Refs(const Value& v, std::set<std::string>& out) {
  if (v.has_struct_value()) {
    for (const auto& [key, child] : v.struct_value().fields()) {
      if (key == "$ref") out.insert(child.string_value());
      Refs(child, out);
    }
  } else if (v.has_list_value()) {
    for (const Value& child : v.list_value().values()) Refs(child, out);
  }
}

TEST(OpenApi, DocumentsExactlyTheRoutesTheGatewayServes) {
  TempDir dir;
  engine::Config config;
  config.server.listen = "127.0.0.1:0";
  config.server.data_dir = dir.path() + "/data";
  auto server = service::Server::Start(config, {.http_listen = "127.0.0.1:0"}).value();
  httplib::Client http("127.0.0.1", server->http_port());

  auto res = http.Get("/openapi.json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  Struct doc;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(res->body, &doc).ok());
  EXPECT_EQ(doc.fields().at("openapi").string_value(), "3.0.3");

  const Struct& paths = doc.fields().at("paths").struct_value();
  ASSERT_GE(paths.fields_size(), 9);
  int operations = 0;
  for (const auto& [templ, item] : paths.fields()) {
    // A concrete path: "{alert_id}" becomes "x".
    std::string path = templ;
    for (const char* p : {"{identity}", "{alert_id}"}) path = absl::StrReplaceAll(path, {{p, "x"}});
    std::set<std::string> documented;
    for (const auto& [method, op] : item.struct_value().fields()) documented.insert(method);
    for (const std::string method : {"get", "post", "patch", "delete", "put"}) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      httplib::Request req;
      req.method = upper;
      req.path = path;
      if (upper == "POST" || upper == "PATCH" || upper == "PUT") req.body = "{}";
      auto r = http.send(req);
      ASSERT_TRUE(r) << upper << " " << path;
      if (documented.count(method)) {
        ++operations;
        EXPECT_NE(r->status, 405) << upper << " " << path << ": " << r->body;
        EXPECT_EQ(r->body.find("no route"), std::string::npos) << upper << " " << path;
      } else {
        EXPECT_EQ(r->status, 405) << upper << " " << path << " is served but not documented";
      }
    }
  }
  EXPECT_EQ(operations, 13);

  std::set<std::string> refs;
  Refs(doc.fields().at("paths"), refs);
  Refs(doc.fields().at("components"), refs);
  const Struct& schemas =
      doc.fields().at("components").struct_value().fields().at("schemas").struct_value();
  EXPECT_TRUE(refs.count("#/components/schemas/trailsentry.v1.Alert"));
  for (const std::string& ref : refs) {
    const std::string name = ref.substr(std::string("#/components/schemas/").size());
    EXPECT_TRUE(schemas.fields().contains(name)) << ref << " does not resolve";
  }
  // The Alert schema has the triage fields, named as proto3 JSON names them.
  const Struct& alert = schemas.fields()
                            .at("trailsentry.v1.Alert")
                            .struct_value()
                            .fields()
                            .at("properties")
                            .struct_value();
  EXPECT_TRUE(alert.fields().contains("changeSequence"));
  EXPECT_EQ(alert.fields().at("changeSequence").struct_value().fields().at("type").string_value(),
            "string");  // 64-bit
  EXPECT_EQ(
      alert.fields().at("status").struct_value().fields().at("enum").list_value().values_size(), 4);
}

}  // namespace
}  // namespace trailsentry::testing
