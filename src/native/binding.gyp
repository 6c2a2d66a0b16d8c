{
  "targets": [
    {
      "target_name": "sys",
      "sources": ["sys.c"],
      "cflags": ["-O2", "-Wall"],
      "libraries": ["-lcrypt"]
    },
    {
      "target_name": "inject-client",
      "type": "executable",
      "sources": ["inject-client.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
