from shopreel.migrations.env_common import run
from shopreel.planes import PlaneKind

run(PlaneKind.REGIONAL)
