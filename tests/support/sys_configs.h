/*
 * Cluster configs of the system-subcluster tests (vats in tests/e2e/vats):
 * a sysvat that keeps the kernel facet, tagged `tag`, and a child
 * subcluster named `name` that such a vat launches.
 */
#ifndef LK_SYS_CONFIGS_H
#define LK_SYS_CONFIGS_H

#define SYS_CFG(tag)                                                      \
    "{\"bootstrap\":\"sys\",\"services\":[\"kernelFacet\"],\"vats\":{"    \
    "\"sys\":{\"sourceSpec\":\"sysvat.lua\",\"parameters\":{\"tag\":\"" tag \
    "\"}}}}"

#define CHILD_CFG(name)                                                   \
    "{\"bootstrap\":\"c\",\"vats\":{\"c\":{\"sourceSpec\":"               \
    "\"syschild.lua\",\"parameters\":{\"name\":\"" name "\"}}}}"

#endif
