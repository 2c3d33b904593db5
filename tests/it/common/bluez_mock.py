#!/usr/bin/python3
# Drives python-dbusmock's bluez5 template (a fake bluetoothd, org.bluez on the bus named by
# DBUS_SYSTEM_BUS_ADDRESS) for the ble_scan tests (tests/it/ble_scan.rs):
#   bluez_mock.py adapter NAME                           add an adapter (hci0)
#   bluez_mock.py remove-adapter NAME                    remove it with its devices
#   bluez_mock.py device ADAPTER MAC                     add a device (no advertisement data)
#   bluez_mock.py service ADAPTER MAC RSSI UUID16 HEX    advertise service data with an RSSI
#   bluez_mock.py manufacturer ADAPTER MAC RSSI ID HEX   advertise manufacturer data
# An advertisement sets the device's RSSI, then its ServiceData or ManufacturerData; each Set
# emits PropertiesChanged on the device (the mock's EmitSignal), as bluetoothd does on reception.
import sys
import dbus

bus = dbus.SystemBus()
MOCK = 'org.freedesktop.DBus.Mock'
BLUEZ_MOCK = 'org.bluez.Mock'
DEVICE = 'org.bluez.Device1'


def mock(path, interface=MOCK):
    return dbus.Interface(bus.get_object('org.bluez', path), interface)


def device_path(adapter, mac):
    return f"/org/bluez/{adapter}/dev_{mac.upper().replace(':', '_')}"


cmd, args = sys.argv[1], sys.argv[2:]
if cmd == 'adapter':
    mock('/', BLUEZ_MOCK).AddAdapter(args[0], 'acs-edge-test')
elif cmd == 'remove-adapter':
    mock('/', BLUEZ_MOCK).RemoveAdapterWithDevices(args[0])
elif cmd == 'device':
    mock('/', BLUEZ_MOCK).AddDevice(args[0], args[1].upper(), 'sensor')
elif cmd in ('service', 'manufacturer'):
    adapter, mac, rssi, key, data = args
    payload = dbus.Array(bytes.fromhex(data), signature='y', variant_level=1)
    if cmd == 'service':
        uuid = f'0000{int(key, 16):04x}-0000-1000-8000-00805f9b34fb'
        prop = ('ServiceData', dbus.Dictionary({uuid: payload}, signature='sv'))
    else:
        prop = ('ManufacturerData', dbus.Dictionary({dbus.UInt16(int(key, 16)): payload},
                                                    signature='qv'))
    device = dbus.Interface(bus.get_object('org.bluez', device_path(adapter, mac)),
                            dbus.PROPERTIES_IFACE)
    device.Set(DEVICE, 'RSSI', dbus.Int16(int(rssi)))
    device.Set(DEVICE, prop[0], prop[1])
else:
    sys.exit(f'unknown command {cmd}')
