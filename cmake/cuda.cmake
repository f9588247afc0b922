# cmake/cuda.cmake: CUDA detection, include()d by the root CMakeLists.txt after
# circa_objs is created and before add_subdirectory(cuda).
#
# Input:  CIRCA_CUDA (cache) = AUTO | ON | OFF
#   AUTO  CUDA on when a working nvcc is found (CMAKE_CUDA_COMPILER / $CUDACXX,
#         $CUDA_HOME/bin, $CUDA_PATH/bin, /usr/local/cuda/bin, PATH), else off.
#   ON    as AUTO, but configuration fails when no nvcc is found.
#   OFF   no CUDA; cuda/ builds its plain C fallback.
# Output (normal variables, visible in the root scope since this is include()d):
#   CIRCA_HAVE_CUDA       ON or OFF (also used as @CIRCA_HAVE_CUDA@ in circaConfig)
#   CIRCA_CUDA_RUNTIME    the imported target to link: CUDA::cudart_static, or empty
#   CIRCA_PC_CUDA_LIBS    the pkg-config Libs.private fragment for CUDA, or empty
# When on it also enables the CUDA language, finds CUDAToolkit, and gives
# circa_objs the PRIVATE definition CIRCA_HAVE_CUDA=1.
#
# No GPU or driver is needed to configure, build or run: the CUDA runtime is
# linked statically and loads libcuda.so.1 lazily; without it every query
# reports "no CUDA driver".

set(CIRCA_HAVE_CUDA OFF)
set(CIRCA_CUDA_RUNTIME "")
set(CIRCA_PC_CUDA_LIBS "")

string(TOUPPER "${CIRCA_CUDA}" _circa_cuda_mode)
if(_circa_cuda_mode STREQUAL "")
  set(_circa_cuda_mode AUTO)
endif()
if(NOT _circa_cuda_mode MATCHES "^(AUTO|ON|OFF)$")
  # Accept the usual CMake booleans too (1/0, YES/NO, TRUE/FALSE).
  if(_circa_cuda_mode)
    set(_circa_cuda_mode ON)
  else()
    set(_circa_cuda_mode OFF)
  endif()
endif()

if(NOT _circa_cuda_mode STREQUAL "OFF")
  # ---- 1. find nvcc --------------------------------------------------------
  set(_circa_nvcc "")
  if(CMAKE_CUDA_COMPILER)
    set(_circa_nvcc "${CMAKE_CUDA_COMPILER}")
  elseif(DEFINED ENV{CUDACXX} AND NOT "$ENV{CUDACXX}" STREQUAL "")
    set(_circa_nvcc "$ENV{CUDACXX}")
  else()
    set(_circa_hints "")
    foreach(_v CUDA_HOME CUDA_PATH CUDAToolkit_ROOT)
      if(DEFINED ENV{${_v}} AND NOT "$ENV{${_v}}" STREQUAL "")
        list(APPEND _circa_hints "$ENV{${_v}}/bin")
      endif()
    endforeach()
    list(APPEND _circa_hints /usr/local/cuda/bin)
    find_program(CIRCA_NVCC nvcc HINTS ${_circa_hints}
      DOC "nvcc used when CIRCA_CUDA is AUTO or ON")
    if(CIRCA_NVCC)
      set(_circa_nvcc "${CIRCA_NVCC}")
    endif()
  endif()

  # A bare name ("nvcc") or relative path: resolve it on PATH.
  if(NOT _circa_nvcc STREQUAL "" AND NOT IS_ABSOLUTE "${_circa_nvcc}")
    find_program(_circa_nvcc_abs "${_circa_nvcc}" NO_CACHE)
    if(_circa_nvcc_abs)
      set(_circa_nvcc "${_circa_nvcc_abs}")
    endif()
    unset(_circa_nvcc_abs)
  endif()

  # ---- 2. sanity-check it (cheap: one nvcc --version) -----------------------
  set(_circa_why "")
  if(_circa_nvcc STREQUAL "")
    set(_circa_why "no nvcc found (looked in CMAKE_CUDA_COMPILER, $CUDACXX, $CUDA_HOME/bin, /usr/local/cuda/bin, PATH)")
  elseif(NOT EXISTS "${_circa_nvcc}")
    set(_circa_why "nvcc '${_circa_nvcc}' does not exist")
  else()
    execute_process(COMMAND "${_circa_nvcc}" --version
      RESULT_VARIABLE _circa_rc OUTPUT_VARIABLE _circa_out ERROR_QUIET
      TIMEOUT 30)
    if(NOT _circa_rc EQUAL 0)
      set(_circa_why "'${_circa_nvcc} --version' failed")
    elseif(NOT CMAKE_CUDA_HOST_COMPILER AND NOT DEFINED ENV{CUDAHOSTCXX} AND NOT CMAKE_CXX_COMPILER)
      # nvcc needs a host C++ compiler; without one enable_language(CUDA) fails.
      find_program(CIRCA_CUDA_HOST_CXX NAMES g++ c++ clang++)
      if(NOT CIRCA_CUDA_HOST_CXX)
        set(_circa_why "nvcc found but no host C++ compiler (g++)")
      endif()
    endif()
  endif()

  if(NOT _circa_why STREQUAL "")
    if(_circa_cuda_mode STREQUAL "ON")
      message(FATAL_ERROR "CIRCA_CUDA=ON but CUDA is unusable: ${_circa_why}. "
        "Set CMAKE_CUDA_COMPILER or CUDA_HOME, or configure with -DCIRCA_CUDA=OFF.")
    endif()
    message(STATUS "circa: CUDA off (${_circa_why})")
  else()
    # ---- 3. enable the language ---------------------------------------------
    set(CMAKE_CUDA_COMPILER "${_circa_nvcc}" CACHE FILEPATH "CUDA compiler" FORCE)
    # Real code for Turing, Ampere and Hopper, plus compute_90 PTX that the
    # driver JITs for anything newer (Blackwell). CUDA 13 dropped < sm_75.
    # sm_80 code also runs on 8.6/8.7/8.9. Override with -DCMAKE_CUDA_ARCHITECTURES=...
    # (or "native" on a machine with a GPU) or $CUDAARCHS.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
      set(CMAKE_CUDA_ARCHITECTURES "75-real;80-real;90" CACHE STRING
        "CUDA architectures for circa's kernels")
    endif()
    # Targets whose link includes CUDA objects (circa_static, circa_shared and
    # what links them) link with the CUDA driver (g++) and get this runtime
    # implicitly; keep it the static one, as CIRCA_CUDA_RUNTIME below.
    if(NOT DEFINED CMAKE_CUDA_RUNTIME_LIBRARY)
      set(CMAKE_CUDA_RUNTIME_LIBRARY Static)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    if(NOT TARGET CUDA::cudart_static)
      if(_circa_cuda_mode STREQUAL "ON")
        message(FATAL_ERROR "CIRCA_CUDA=ON but libcudart_static was not found")
      endif()
      message(STATUS "circa: CUDA off (no libcudart_static)")
    else()
      set(CIRCA_HAVE_CUDA ON)
      # Static runtime: the binary needs no libcudart.so at run time and starts
      # on machines with no NVIDIA driver (cudart dlopen()s libcuda.so.1 on
      # first use and reports cudaErrorInsufficientDriver when it is absent).
      set(CIRCA_CUDA_RUNTIME CUDA::cudart_static)
      set(CIRCA_PC_CUDA_LIBS "-L${CUDAToolkit_LIBRARY_DIR} -lcudart_static -ldl -lrt -lpthread")
      target_compile_definitions(circa_objs PRIVATE CIRCA_HAVE_CUDA=1)
      # circa_objs was created before the CUDA language was enabled, so its
      # CUDA_* properties were not initialised from the CMAKE_CUDA_* variables.
      set_target_properties(circa_objs PROPERTIES
        CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}"
        CUDA_VISIBILITY_PRESET hidden
        CUDA_SEPARABLE_COMPILATION OFF) # whole-program: no device-link step
      message(STATUS "circa: CUDA on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
        "archs ${CMAKE_CUDA_ARCHITECTURES}, runtime ${CIRCA_CUDA_RUNTIME})")
    endif()
  endif()
else()
  message(STATUS "circa: CUDA off (CIRCA_CUDA=OFF)")
endif()

unset(_circa_cuda_mode)
unset(_circa_nvcc)
unset(_circa_why)
unset(_circa_hints)
unset(_circa_rc)
unset(_circa_out)
