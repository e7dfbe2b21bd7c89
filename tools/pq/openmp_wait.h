// OpenMP's wait policy for pq's programs.
#ifndef PQ_TOOLS_PQ_OPENMP_WAIT_H_
#define PQ_TOOLS_PQ_OPENMP_WAIT_H_

namespace pq {

// libgomp's default lets idle worker threads spin after every parallel
// region. When the machine's cores are busy with other work, the spinning
// worker takes a core from the threads doing the work: measured on 2 cores
// under load, weight quantization ran 2x and a 224x224 conv model 3-5x
// slower with 2 threads than with 1. libgomp reads OMP_WAIT_POLICY only when
// the program starts, so when neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is
// set this sets OMP_WAIT_POLICY=PASSIVE and re-executes the program
// (/proc/self/exe, same arguments) once. Returns only when it did not
// re-execute: a policy was already set, or exec failed (the program then
// runs with libgomp's default). Call first thing in main().
void PreferPassiveOpenMpWait(char** argv);

}  // namespace pq

#endif  // PQ_TOOLS_PQ_OPENMP_WAIT_H_
