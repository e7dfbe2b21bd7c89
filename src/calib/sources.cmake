# Sources of the calibration subsystem, added to the pq library.
target_sources(pq PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/value_stats.cc
  ${CMAKE_CURRENT_LIST_DIR}/histogram.cc
  ${CMAKE_CURRENT_LIST_DIR}/line_histogram.cc
  ${CMAKE_CURRENT_LIST_DIR}/range_builder.cc
  ${CMAKE_CURRENT_LIST_DIR}/candidate_search.cc
  ${CMAKE_CURRENT_LIST_DIR}/kl_divergence.cc
  ${CMAKE_CURRENT_LIST_DIR}/histogram_calibrator.cc
  ${CMAKE_CURRENT_LIST_DIR}/minmax.cc
  ${CMAKE_CURRENT_LIST_DIR}/percentile.cc
  ${CMAKE_CURRENT_LIST_DIR}/entropy.cc
  ${CMAKE_CURRENT_LIST_DIR}/mse.cc
  ${CMAKE_CURRENT_LIST_DIR}/method_table.cc
  ${CMAKE_CURRENT_LIST_DIR}/collector.cc
  ${CMAKE_CURRENT_LIST_DIR}/calibrate.cc
  ${CMAKE_CURRENT_LIST_DIR}/activation_stats.cc
  ${CMAKE_CURRENT_LIST_DIR}/calibration_stats.cc
  ${CMAKE_CURRENT_LIST_DIR}/calibration_stats_io.cc
  ${CMAKE_CURRENT_LIST_DIR}/statistics_gather.cc
)
