{
  "targets": [
    {
      "target_name": "sys",
      "sources": ["sys.c", "pool.c"],
      "cflags": ["-O2", "-Wall"],
      "libraries": ["-lcrypt"]
    },
    {
      "target_name": "qmail-inject",
      "type": "executable",
      "sources": ["inject-client.c"],
      "cflags": ["-O2", "-Wall"]
    },
    {
      "target_name": "sendmail",
      "type": "executable",
      "sources": ["inject-client.c"],
      "defines": ["FOR_SENDMAIL"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
