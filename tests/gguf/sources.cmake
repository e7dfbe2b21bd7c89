# Unit tests of src/gguf, added to pq_tests.
target_sources(pq_tests PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/llama_graph_test.cc
)
