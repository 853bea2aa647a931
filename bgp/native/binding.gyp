{
  "targets": [
    {
      "target_name": "tabby_tcp",
      "sources": ["tcp.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
