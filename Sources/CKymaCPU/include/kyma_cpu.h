// CPU feature detection for the start-up check of binaries whose kernels are built for
// x86-64-v3. Compiled for the baseline ISA so that the check itself can never fault.
#ifndef KYMA_CPU_H
#define KYMA_CPU_H
/// 1 when the CPU runs x86-64-v3 code (AVX2, BMI1/2, FMA, F16C, LZCNT, MOVBE), or when the
/// build is not for x86_64 (no x86-64-v3 kernels are compiled there). 0 otherwise.
int kyma_cpu_supports_x86_64_v3(void);
#endif
