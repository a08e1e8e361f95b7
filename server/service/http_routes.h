// HttpRoutes: the HTTP/JSON API's routes, once: what the gateway answers (and
// its 405 `Allow`), and what GET /openapi.json documents. Request and response
// bodies are the proto3 JSON of the named messages; the OpenAPI schemas are
// generated from their descriptors, so the document cannot drift from the protos.
//
//   for (const HttpRoute& r : HttpRoutes()) ...
//   std::string allow = AllowedMethods("/v1/alerts/abc");   // "GET, PATCH"
//   std::string doc = OpenApiDocument();
#ifndef TRAILSENTRY_SERVER_SERVICE_HTTP_ROUTES_H_
#define TRAILSENTRY_SERVER_SERVICE_HTTP_ROUTES_H_

#include <google/protobuf/descriptor.h>

#include <string>
#include <vector>

namespace trailsentry::service {

struct HttpRoute {
  const char* method;  // "GET", "POST", "PATCH", "DELETE"
  const char* path;    // OpenAPI template: "/v1/alerts/{alert_id}"
  const char* summary;
  const google::protobuf::Descriptor* request;   // JSON body; null: none
  const google::protobuf::Descriptor* response;  // JSON body; null: text
  std::vector<const char*> query;                // query parameters (proto field names)
  bool authenticated = true;
};

const std::vector<HttpRoute>& HttpRoutes();
// The methods the routes answer on a concrete path ("" for none), for 405's Allow.
std::string AllowedMethods(const std::string& path);
// The OpenAPI 3.0 document (JSON) of HttpRoutes().
std::string OpenApiDocument();

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_HTTP_ROUTES_H_
