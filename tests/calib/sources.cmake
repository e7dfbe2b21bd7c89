# Tests of the calibration subsystem, added to pq_tests.
target_sources(pq_tests PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/histogram_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/kl_divergence_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/candidate_search_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/minmax_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/percentile_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/entropy_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/mse_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/method_table_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/collector_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/calibrate_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/activation_stats_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/calibration_stats_test.cc
)
