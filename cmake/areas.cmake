# The switch's areas (one folder of src/ each) and which areas each may use: this file is
# the architecture (docs/architecture.md "Source layout"). ivs_area(NAME DEPS ...) makes the
# static library ivs_NAME from src/NAME/*.cpp and links it to the areas it names
# (target_link_libraries); ivs_program(NAME DEPS ...) declares the areas an executable's
# own folder may include (its target is made in CMakeLists.txt). scripts/check-areas.py
# reads this file and fails the build (target ivs_layers, which every area's library
# depends on) when a file includes a header of an area its area does not name here, or when
# these declarations form a cycle: a lower area never uses a higher one.
#
# From the bottom: the core (common, packet, dpdk, flow, forward, pipeline) knows no job
# and no config; the config sits above the core (it compiles itself into what the core is
# given: config/core_specs.hpp) and below the jobs (each job reads its part of the model);
# the jobs; then what knows every job: the control server, the module list, the programs.

ivs_area(common)
ivs_area(packet DEPS common)
ivs_area(dpdk DEPS common)
ivs_area(flow DEPS common dpdk packet)
ivs_area(forward DEPS common dpdk)
ivs_area(pipeline DEPS common dpdk packet flow forward)

ivs_area(config DEPS common dpdk packet flow forward pipeline)

ivs_area(policy DEPS common config packet flow pipeline)
ivs_area(qos DEPS common config packet dpdk flow forward pipeline policy)
ivs_area(mirror DEPS common config packet flow pipeline policy)
ivs_area(channel DEPS common config packet dpdk forward pipeline)
ivs_area(portsec DEPS common config packet forward pipeline)
ivs_area(flowexport DEPS common config pipeline policy qos mirror)
ivs_area(ethertypes DEPS common config forward pipeline)

ivs_area(control DEPS common config packet pipeline policy qos mirror channel portsec flowexport ethertypes)
ivs_area(modules DEPS config pipeline policy qos mirror channel portsec flowexport ethertypes)

ivs_program(daemon DEPS config control dpdk pipeline modules)
ivs_program(cli DEPS common pipeline policy qos mirror channel flowexport ethertypes)
ivs_program(agent DEPS channel)

# Named, counted exceptions: present includes against the layers above, each allowed up to
# its count until the move named removes them (then lower the count; at 0 delete the line;
# never raise one). ivs_layer_exception(FROM TO COUNT "why") also links ivs_FROM to ivs_TO.
# The core's includes of config and job headers are the ones scripts/check-layers.sh counts.
ivs_layer_exception(policy qos 6 "policy <-> QoS: QoS's move into its module changes this side")

# Calls to a function declared below and defined above (the lists in src/modules): a link
# dependency only, no include allowed; not part of the graph checked for cycles.
ivs_link_above(pipeline modules "pipeline::registered_modules(), defined in src/modules/registry.cpp")
ivs_link_above(config modules "config::job_section_readers(), defined in src/modules/registry.cpp")
