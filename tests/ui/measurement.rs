use influx_stream::LineProtocol;

#[derive(LineProtocol)]
struct Nameless {
    usage: f64,
}

#[derive(LineProtocol)]
#[influx(measurement = "cpu")]
struct NamedTwice {
    #[influx(measurement)]
    kind: String,
    usage: f64,
}

#[derive(LineProtocol)]
struct TwoMeasurementMembers {
    #[influx(measurement)]
    kind: String,
    #[influx(measurement)]
    other_kind: String,
    usage: f64,
}

fn main() {}
