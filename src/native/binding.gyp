{
  "targets": [
    {
      "target_name": "sys",
      "sources": ["sys.c"],
      "cflags": ["-O2", "-Wall"],
      "libraries": ["-lcrypt"]
    }
  ]
}
