// OpenMP's wait policy for pq's programs.
#ifndef PQ_TOOLS_PQ_OPENMP_WAIT_H_
#define PQ_TOOLS_PQ_OPENMP_WAIT_H_

namespace pq {

// How long (libgomp spin iterations, ~10 us here) an idle OpenMP worker spins
// before it sleeps. libgomp's default (300,000) keeps idle workers spinning
// long after a parallel region: when the machine's cores are busy with other
// work, the spinning worker takes a core from the threads doing the work
// (measured on 2 cores under load: weight quantization 2x and a 224x224 conv
// model 3-5x slower with 2 threads than with 1). Not spinning at all
// (OMP_WAIT_POLICY=PASSIVE) makes every region pay a futex wake-up instead:
// 2 threads were then no faster than 1 on the sample CNN (0.19 ms) and a 1 GB
// weights-only quantization took 2.45 s instead of 1.51 s. A short spin keeps
// the workers warm between the regions of one inference or one quantization.
constexpr int kOpenMpSpinCount = 10000;

// libgomp reads its environment only when the program starts, so when neither
// OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set this sets GOMP_SPINCOUNT to
// kOpenMpSpinCount and re-executes the program (/proc/self/exe, same
// arguments) once. Returns only when it did not re-execute: the user chose a
// policy, or exec failed (the program then runs with libgomp's default).
// Call first thing in main().
void LimitOpenMpSpinning(char** argv);

}  // namespace pq

#endif  // PQ_TOOLS_PQ_OPENMP_WAIT_H_
