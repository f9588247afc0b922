/* nn_hot.h: NN_HOT marks the nn room's hot loops for runtime dispatch to
 * AVX-512 and AVX2 clones where the CPU has them. Every clone does the same
 * arithmetic: no FMA (-ffp-contract=off), no reassociation. Runtime dispatch
 * needs gcc >= 11 (x86-64-v4) and glibc's ifuncs; ASan builds skip it
 * (resolvers run before the sanitizer is up). Private to models/nn. */
#ifndef CIRCA_NN_HOT_H
#define CIRCA_NN_HOT_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 && \
    defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#define NN_HOT __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define NN_HOT
#endif

#endif
