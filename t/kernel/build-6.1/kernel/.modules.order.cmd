cmd_/work/wt/integ/t/kernel/build-6.1/kernel/modules.order := {   echo /work/wt/integ/t/kernel/build-6.1/kernel/netdisk.ko; :; } > /work/wt/integ/t/kernel/build-6.1/kernel/modules.order
