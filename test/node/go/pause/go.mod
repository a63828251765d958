module vault-autounseal/node/pause

go 1.26.0
