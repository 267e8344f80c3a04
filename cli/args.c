int ll_cli_stub_args;
