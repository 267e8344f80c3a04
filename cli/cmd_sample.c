int ll_cli_stub_cmd_sample;
