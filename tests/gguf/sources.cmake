# Unit tests of src/gguf, added to pq_tests.
target_sources(pq_tests PRIVATE
  gguf/ggml_types_test.cc
  gguf/gguf_file_test.cc
  cli/gguf_inspect_cli_test.cc
)
