{
  "targets": [
    {
      "target_name": "tabby_netlink",
      "sources": ["netlink.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
