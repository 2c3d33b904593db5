use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::{Error, Packet, Publish};
use crate::mqttbytes::{parse_fixed_header, PacketType};

/// MQTT v4 codec
#[derive(Debug, Clone)]
pub struct Codec {
    /// Maximum packet size allowed by client
    pub max_incoming_size: usize,
    /// Maximum packet size allowed by broker
    pub max_outgoing_size: usize,
    /// acs-edge patch: bytes of an oversize PUBLISH still to be discarded, and that PUBLISH with
    /// its payload cut to `max_incoming_size`, handed on once the rest is discarded.
    pub(crate) discard: usize,
    pub(crate) oversize: Option<Publish>,
}

impl Codec {
    pub fn new(max_incoming_size: usize, max_outgoing_size: usize) -> Codec {
        Codec {
            max_incoming_size,
            max_outgoing_size,
            discard: 0,
            oversize: None,
        }
    }

    /// acs-edge patch: a PUBLISH over `max_incoming_size` is read as a PUBLISH whose payload is
    /// cut to `max_incoming_size` bytes (remaining length, including topic and packet id); the
    /// rest is discarded as it arrives, never buffered. The event loop then acknowledges it
    /// like any other, so a persistent session does not redeliver it forever, and memory stays
    /// bounded by `max_incoming_size`.
    fn cut_publish(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, Error> {
        let header = parse_fixed_header(src.iter())?;
        let keep = header.fixed_header_len + self.max_incoming_size;
        if src.len() < keep {
            src.reserve(keep - src.len());
            return Ok(None);
        }
        let packet = src.split_to(keep).freeze();
        let publish = Publish::read(header, packet)?;
        self.discard = header.remaining_len - self.max_incoming_size;
        self.oversize = Some(publish);
        self.decode(src)
    }
}

impl Decoder for Codec {
    type Item = Packet;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        if self.oversize.is_some() {
            let n = self.discard.min(src.len());
            src.advance(n);
            self.discard -= n;
            if self.discard > 0 {
                return Ok(None);
            }
            return Ok(self.oversize.take().map(Packet::Publish));
        }
        match Packet::read(src, self.max_incoming_size) {
            Ok(packet) => Ok(Some(packet)),
            Err(Error::InsufficientBytes(b)) => {
                // Get more packets to construct the incomplete packet
                src.reserve(b);
                Ok(None)
            }
            Err(Error::PayloadSizeLimitExceeded(_))
                if parse_fixed_header(src.iter())?.packet_type()? == PacketType::Publish =>
            {
                self.cut_publish(src)
            }
            Err(e) => Err(e),
        }
    }
}

impl Encoder<Packet> for Codec {
    type Error = Error;

    fn encode(&mut self, item: Packet, dst: &mut BytesMut) -> Result<(), Self::Error> {
        item.write(dst, self.max_outgoing_size)?;

        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use tokio_util::codec::Encoder;

    use super::Codec;
    use crate::{mqttbytes::Error, Packet, Publish, QoS};

    #[test]
    fn outgoing_max_packet_size_check() {
        let mut buf = BytesMut::new();
        let mut codec = Codec::new(100, 200);

        let mut small_publish = Publish::new("hello/world", QoS::AtLeastOnce, vec![1; 100]);
        small_publish.pkid = 1;
        codec
            .encode(Packet::Publish(small_publish), &mut buf)
            .unwrap();

        let large_publish = Publish::new("hello/world", QoS::AtLeastOnce, vec![1; 265]);
        match codec.encode(Packet::Publish(large_publish), &mut buf) {
            Err(Error::OutgoingPacketTooLarge {
                pkt_size: 281,
                max: 200,
            }) => {}
            _ => unreachable!(),
        }
    }
}
